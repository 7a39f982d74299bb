"""The running parts wired together: engine, sessions, arq pool, channels, and the alert deps."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.deps import DEFAULT_VOICES, AlertDeps, Tts
from alerts.links import LinkSigner, MediaSigner
from callcentre.live_pacing import VoicePacer
from callcentre.pacing import PacingPolicy
from callcentre.routing import StoredAgentRouter
from callcentre.state import StoredCentre
from callcentre.voice_switch import StoredVoiceSwitch
from channels.base import Channel
from channels.email_smtp import SmtpEmailChannel
from channels.failover import FailoverChannel
from channels.twilio_common import TwilioAccount
from channels.twilio_sms import TwilioSmsChannel
from channels.twilio_voice import TwilioVoiceChannel
from herald.config import Settings, TwilioSettings
from herald.db import make_engine, make_sessionmaker
from xml_adapters.registry import install_adapters

logger = logging.getLogger(__name__)
QUEUES = {"voice": "herald:voice", "sms": "herald:sms", "email": "herald:email"}
DEFAULT_QUEUE = "herald:default"


def redis_settings(settings: Settings) -> RedisSettings:
    """Where Redis is, and how a command rides out a restart: a connection found dead is
    dropped and the command tried again on a new one (three times, backing off to 2 s)."""
    base = (
        RedisSettings.from_dsn(settings.redis_url)
        if settings.redis_url
        else RedisSettings(unix_socket_path=str(settings.redis_socket), conn_retries=3)
    )
    base.retry = Retry(ExponentialBackoff(cap=2.0, base=0.2), retries=3)
    base.retry_on_error = [RedisConnectionError, RedisTimeoutError, ConnectionError, OSError]
    return base


def _twilio_account(settings: Settings, cfg: TwilioSettings) -> TwilioAccount:
    if cfg.simulated:
        sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    else:
        sid = cfg.account_sid or ""
        token = cfg.auth_token.get_secret_value() if cfg.auth_token else ""
    base = (cfg.api_base or "").rstrip("/") or (
        f"http://127.0.0.1:{cfg.simulator_port}" if cfg.simulated else "https://api.twilio.com"
    )
    return TwilioAccount(
        account_sid=sid,
        auth_token=token,
        api_base=base,
        from_number=cfg.from_number,
        timeout=cfg.timeout_seconds,
    )


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The explicit channel registry: providers per kind chosen by settings, the fallback Twilio
    account (if configured) behind the primary one."""
    accounts = [_twilio_account(settings, settings.twilio)]
    if settings.twilio_fallback is not None:
        accounts.append(_twilio_account(settings, settings.twilio_fallback))
    voice: Channel = TwilioVoiceChannel(accounts[0])
    sms: Channel = TwilioSmsChannel(accounts[0])
    if len(accounts) > 1:
        voice = FailoverChannel([TwilioVoiceChannel(a) for a in accounts])
        sms = FailoverChannel([TwilioSmsChannel(a) for a in accounts])
    smtp = settings.smtp
    email = SmtpEmailChannel(
        host=smtp.host or "127.0.0.1",
        port=smtp.port if smtp.host else smtp.sink_port,
        from_address=smtp.from_address,
        username=smtp.username,
        password=smtp.password.get_secret_value() if smtp.password else None,
        starttls=smtp.starttls if smtp.host else False,
        timeout=smtp.timeout_seconds,
        bounce_domain=smtp.bounce_domain,
    )
    return {"voice": voice, "sms": sms, "email": email}


class ArqStepQueue:
    """Enqueues delivery steps on the channel's own queue; the job id makes it idempotent."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def enqueue_step(
        self,
        *,
        alert_id: int,
        step_index: int,
        channel: str,
        defer_seconds: float = 0,
        run_key: str = "",
    ) -> bool:
        job = await self.pool.enqueue_job(
            "run_step",
            alert_id,
            step_index,
            _job_id=f"step:{alert_id}:{step_index}{run_key}",
            _queue_name=QUEUES[channel],
            _defer_by=defer_seconds or None,
        )
        return job is not None


def transfer_queue(settings: Settings) -> str | None:
    centre = settings.callcentre
    return centre.queue_name if centre.transfer == "enqueue" else None


def voice_pacer(settings: Settings) -> VoicePacer | None:
    centre = settings.callcentre
    if not centre.pacing:
        return None
    policy = PacingPolicy(
        target_answer_s=centre.target_answer_seconds,
        service_level_target=centre.service_level,
        calls_per_second=centre.calls_per_second,
    )
    return VoicePacer(policy=policy, aht_s=centre.average_handle_seconds)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    pool: ArqRedis
    deps: AlertDeps

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        install_adapters(settings.mappings_dir)  # built-ins + the integrator's mapping files
        engine = make_engine(settings.resolved_database_url)
        pool = await create_pool(redis_settings(settings), default_queue_name=DEFAULT_QUEUE)
        deps = AlertDeps(
            sessions=make_sessionmaker(engine),
            channels=build_channels(settings),
            queue=ArqStepQueue(pool),
            links=LinkSigner(settings.secret_key.get_secret_value()),
            public_url=settings.public_url,
            brand=settings.brand,
            brand_colour=settings.brand_colour,
            callcentre_number=settings.callcentre.phone_number,
            centre=StoredCentre(),
            pacer=voice_pacer(settings),
            voice_switch=StoredVoiceSwitch(),
            agents=StoredAgentRouter(),
            media=MediaSigner(settings.secret_key.get_secret_value()),
            voices={
                **DEFAULT_VOICES,
                **{k: Tts(v.voice, v.language) for k, v in settings.voices.items()},
            },
            transfer_queue=transfer_queue(settings),
            reply_window_hours=settings.sms_reply_window_hours,
            transaction_secret=settings.transaction_signing_key,
        )
        return cls(settings=settings, engine=engine, pool=pool, deps=deps)

    async def close(self) -> None:
        for channel in self.deps.channels.values():
            await channel.close()
        await self.pool.aclose()
        await self.engine.dispose()
