# Herald image: the same package runs the API (`herald serve`), the workers (`herald worker`),
# the migrations (`herald migrate`) and the Twilio simulator (`herald simulate`).
# Stage 1 builds a virtualenv (compiled catalogues, the wheel, its pinned dependencies);
# stage 2 copies only that virtualenv into a slim image that runs as an unprivileged user.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/herald
COPY pyproject.toml requirements.lock README.md babel.cfg ./
COPY alerts ./alerts
COPY channels ./channels
COPY rules ./rules
COPY xml_adapters ./xml_adapters
COPY admin_ui ./admin_ui
COPY callcentre ./callcentre
COPY herald ./herald
COPY examples ./examples
# Herald's words in five languages: compile the catalogues so that the wheel ships them.
RUN /opt/herald/bin/pip install -c requirements.lock babel \
 && /opt/herald/bin/pybabel compile -d channels/locales \
 && /opt/herald/bin/pip install -c requirements.lock .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/herald/bin:$PATH \
    HERALD_DATA_DIR=/var/lib/herald HERALD_API_HOST=0.0.0.0 HERALD_LOG_FORMAT=json
RUN groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /var/lib/herald --shell /usr/sbin/nologin herald \
 && mkdir -p /var/lib/herald && chown herald:herald /var/lib/herald
COPY --from=build /opt/herald /opt/herald
USER herald
WORKDIR /var/lib/herald
VOLUME /var/lib/herald
EXPOSE 8000
# For the API (the default command); compose gives workers and one-shot jobs their own checks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["herald", "serve"]
