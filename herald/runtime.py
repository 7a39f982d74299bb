"""The running parts wired together: engine, sessions, arq pool, channels, and the alert deps."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_ms
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.delivery.rate_limits import RedisSendGate, limits_for
from alerts.deps import DEFAULT_VOICES, AlertDeps, StepJob, Tts
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


# Enqueue many arq jobs in one round trip, each exactly as ArqRedis.enqueue_job does it (the job
# key set with its expiry, the id added to its queue with its score), and skipped, like there,
# when its job key or result key exists. A script runs atomically, so no other client can slip
# in between a job's check and its write (enqueue_job uses WATCH/MULTI for that). Per job:
# KEYS job key, result key, queue; ARGV expiry (ms), payload, score (ms), job id.
_ENQUEUE_MANY = """
local queued = {}
for j = 0, #KEYS / 3 - 1 do
  local k, a = 3 * j, 4 * j
  if redis.call('EXISTS', KEYS[k + 1], KEYS[k + 2]) == 0 then
    redis.call('PSETEX', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
    redis.call('ZADD', KEYS[k + 3], ARGV[a + 3], ARGV[a + 4])
    queued[#queued + 1] = 1
  else
    queued[#queued + 1] = 0
  end
end
return queued
"""
_MANY_AT_ONCE = 1000  # jobs per script call: keeps each call short for Redis's other clients


def step_job_id(alert_id: int, step_index: int, run_key: str = "") -> str:
    """The arq job id of a step: the same step is never queued twice under it."""
    return f"step:{alert_id}:{step_index}{run_key}"


class ArqStepQueue:
    """Enqueues delivery steps on the channel's own queue; the job id makes it idempotent."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self._many = pool.register_script(_ENQUEUE_MANY)

    async def enqueue_steps(self, jobs: Sequence[StepJob]) -> int:
        """Enqueue first runs of steps in batches of one script call each (one round trip per
        thousand jobs instead of a WATCH/MULTI transaction per job); same job ids, same job
        format and expiry as ``enqueue_step``. Returns how many were queued now."""
        queued = 0
        for start in range(0, len(jobs), _MANY_AT_ONCE):
            keys: list[str] = []
            args: list[str | bytes] = []
            now_ms = timestamp_ms()
            for job in jobs[start : start + _MANY_AT_ONCE]:
                job_id = step_job_id(job.alert_id, job.step_index)
                defer_ms = to_ms(job.defer_seconds) if job.defer_seconds else 0
                payload = serialize_job(
                    "run_step",
                    (job.alert_id, job.step_index),
                    {},
                    None,
                    now_ms,
                    serializer=self.pool.job_serializer,
                )
                keys += [job_key_prefix + job_id, result_key_prefix + job_id, QUEUES[job.channel]]
                expires = defer_ms + self.pool.expires_extra_ms
                args += [str(expires), payload, str(now_ms + defer_ms), job_id]
            flags = await self._many(keys=keys, args=args)
            queued += sum(int(flag) for flag in flags)
        return queued

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
            _job_id=step_job_id(alert_id, step_index, run_key),
            _queue_name=QUEUES[channel],
            _defer_by=defer_seconds or None,
        )
        return job is not None


def send_gate(settings: Settings, pool: Redis) -> RedisSendGate | None:
    """The providers' rate limits (docs/pacing.md): keyed by the primary Twilio account and its
    sender number, and by the SMTP relay; None when nothing is limited."""
    twilio, smtp = settings.twilio, settings.smtp
    account, sender = settings.twilio_account_sid, twilio.from_number
    burst = twilio.rate_burst
    limits = {
        "sms": limits_for(
            account=account,
            sender=sender,
            kind="sms",
            account_per_second=twilio.rate("messages_per_second"),
            sender_per_second=twilio.rate("sender_messages_per_second"),
            burst=burst,
        ),
        "voice": limits_for(
            account=account,
            sender=sender,
            kind="voice",
            account_per_second=twilio.rate("calls_per_second"),
            sender_per_second=0,
            burst=burst,
        ),
        "email": limits_for(
            account=f"{smtp.host or '127.0.0.1'}:{smtp.port if smtp.host else smtp.sink_port}",
            sender="",
            kind="email",
            account_per_second=smtp.messages_per_second,
            sender_per_second=0,
        ),
    }
    if not any(limits.values()):
        return None
    for kind, buckets in limits.items():
        for bucket in buckets:
            logger.info(
                "%s rate limit %s: %g/s, burst %s",
                kind,
                bucket.key,
                bucket.per_second,
                bucket.burst,
            )
    return RedisSendGate(pool, limits)


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
            send_gate=send_gate(settings, pool),
            reply_window_hours=settings.sms_reply_window_hours,
            transaction_secret=settings.transaction_signing_key,
        )
        return cls(settings=settings, engine=engine, pool=pool, deps=deps)

    async def close(self) -> None:
        for channel in self.deps.channels.values():
            await channel.close()
        await self.pool.aclose()
        await self.engine.dispose()
