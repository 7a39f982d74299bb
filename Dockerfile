# Herald image: the same package runs the API (`herald serve`) and the workers (`herald worker`).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HERALD_DATA_DIR=/var/lib/herald HERALD_API_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY alerts ./alerts
COPY channels ./channels
COPY rules ./rules
COPY xml_adapters ./xml_adapters
COPY admin_ui ./admin_ui
COPY callcentre ./callcentre
COPY herald ./herald
COPY examples ./examples
RUN pip install -c requirements.lock . \
 && useradd --system --home /var/lib/herald herald \
 && mkdir -p /var/lib/herald && chown herald /var/lib/herald
USER herald
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["herald", "serve"]
