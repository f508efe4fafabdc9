"""The prefetch program the Jobs run (kept here as source text, shipped in a ConfigMap).

Contract: download one checkpoint into the shared cache and write a completion marker; exit 0 immediately when the
marker exists (idempotent re-runs, re-created Jobs); retry rate limits (HTTP 429) and transient failures with
exponential backoff and jitter; fail fast on 401/403/404 (wrong token or id: retrying cannot help).
Layout: Hugging Face checkpoints in the hub cache under $HF_HOME (what vLLM/SGLang/TRT-LLM read with the same
HF_HOME), NGC under $MODEL_CACHE/ngc/<org>/<model>/<version>, S3 under $MODEL_CACHE/s3/<bucket>/<prefix>.
"""

from __future__ import annotations

SCRIPT = r"""
import hashlib, os, pathlib, random, subprocess, sys, time

SOURCE, URI, REVISION = os.environ["PREFETCH_SOURCE"], os.environ["PREFETCH_URI"], os.environ["PREFETCH_REVISION"]
CACHE = pathlib.Path(os.environ["MODEL_CACHE"])
ATTEMPTS = int(os.environ.get("PREFETCH_ATTEMPTS", "8"))
key = hashlib.sha256(f"{SOURCE}:{URI}@{REVISION}".encode()).hexdigest()[:24]
marker = CACHE / ".inference-ra" / "complete" / key


def log(msg):
    print(f"[prefetch {SOURCE}:{URI}@{REVISION}] {msg}", flush=True)


if marker.exists():
    log(f"complete since {marker.read_text().strip()}; nothing to do")
    sys.exit(0)


def status_of(exc):
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None) or getattr(exc, "status_code", None)
    if code is None and resp is not None and isinstance(resp, dict):
        code = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code


def with_retries(fn):
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - every failure is classified below
            code = status_of(exc)
            if code in (401, 403, 404) or attempt == ATTEMPTS:
                log(f"giving up after attempt {attempt}: {exc!r}")
                raise
            delay = min(900, 15 * 2 ** (attempt - 1)) * (1 + random.random() / 4)
            log(f"attempt {attempt} failed ({code or type(exc).__name__}); retrying in {delay:.0f}s")
            time.sleep(delay)


def pip(*pkgs):
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet", "--target",
                    "/tmp/clients", *pkgs], check=True)
    sys.path.insert(0, "/tmp/clients")
    os.environ["PATH"] = "/tmp/clients/bin:" + os.environ["PATH"]
    os.environ["PYTHONPATH"] = "/tmp/clients"


with_retries(lambda: pip(*os.environ["PREFETCH_CLIENTS"].split()))

if SOURCE == "hf":
    from huggingface_hub import snapshot_download
    path = with_retries(lambda: snapshot_download(repo_id=URI, revision=REVISION, max_workers=16))
elif SOURCE == "ngc":
    dest = CACHE / "ngc" / URI
    dest.mkdir(parents=True, exist_ok=True)
    with_retries(lambda: subprocess.run(["ngc", "registry", "model", "download-version", f"{URI}:{REVISION}",
                                         "--dest", str(dest)], check=True))
    path = dest
else:
    import boto3
    bucket, _, prefix = URI.removeprefix("s3://").partition("/")
    dest = CACHE / "s3" / bucket / prefix
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len(prefix):].lstrip("/")
            if target.exists() and target.stat().st_size == obj["Size"]:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with_retries(lambda o=obj, t=target: s3.download_file(bucket, o["Key"], str(t)))
    path = dest

marker.parent.mkdir(parents=True, exist_ok=True)
marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f" {path}\n")
log(f"complete: {path}")
"""
