"""The ``arrays`` target: named schedule arrays exported from any codebase (.npz or .json).

Schema (one file; every key optional unless marked; unknown keys are refused so that a typo
is not silently ignored):

``schedule``      linear | scaled_linear | cosine | sigmoid | openai_linear | given (required;
                  ``given`` takes the file's own ``betas`` as the exact betas and checks every
                  other table for consistency with them)
``beta_start``,   the schedule's end points, as numbers or decimal strings such as "0.00085"
``beta_end``      (defaults 0.0001 and 0.02)
``T``             number of training steps (default: the length of the tables)
``rescale_zero_snr``  true to apply Lin et al.'s zero-terminal-SNR rescale (default false)
``dtype``         float16 | bfloat16 | float32 | float64: the precision the exporting code
                  computed in (default: float32 when every value is a float32 number, else float64)
tables            any of ``betas alphas alphas_cumprod alphas_cumprod_prev alphas_cumprod_next
                  sqrt_alphas_cumprod sqrt_one_minus_alphas_cumprod sqrt_recip_alphas_cumprod
                  sqrt_recipm1_alphas_cumprod sigmas posterior_variance
                  posterior_log_variance_clipped posterior_mean_coef1 posterior_mean_coef2``:
                  1-D, length T, finite, indexed by the code step t = 0..T-1 (``sigmas`` is the
                  training grid sqrt((1 - alpha_bar_t)/alpha_bar_t), ascending in t)
``timesteps``     a descending integer list of N inference steps, with ``timestep_spacing``
                  (leading | trailing | linspace) and ``steps_offset`` (default 0)

In .npz files the scalars are 0-d arrays (``np.array("linear")``, ``np.array(1000)``); files
are read with ``allow_pickle=False``, and an object array is refused.  At least one table or
``timesteps`` must be present.  Anything malformed raises InvalidParameter naming the key.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from numerics.errors import InvalidParameter
from proofs_check.interop.common import Report
from proofs_check.interop.tables import TABLE_CHECKS, ExactSchedule, check_tables, check_timesteps

SCALAR_KEYS = ("schedule", "beta_start", "beta_end", "T", "rescale_zero_snr", "dtype",
               "timestep_spacing", "steps_offset")
ARRAY_KEYS = tuple(TABLE_CHECKS) + ("timesteps",)
#: Refuse files larger than this: a schedule table of 10^5 float64 values is under 1 MB.
MAX_BYTES = 64 * 2 ** 20
MAX_T = 100_000
SCHEDULES = ("linear", "scaled_linear", "cosine", "sigmoid", "openai_linear", "given")
DTYPES = ("float16", "bfloat16", "float32", "float64")


def _bad(key: str, value, valid: str, hint: str = "") -> InvalidParameter:
    return InvalidParameter(key, value, valid, hint)


def load(path) -> dict:
    """Read and validate a file; returns {'spec': {...}, 'arrays': {name: float64 array}}."""
    p = Path(str(path))
    if not p.is_file():
        raise _bad("FILE", str(path), "an existing .npz or .json file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise _bad("FILE", str(path), f"a file under {MAX_BYTES // 2 ** 20} MiB", f"it has {size} bytes")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(p)
    elif suffix == ".json":
        raw = _read_json(p)
    else:
        raise _bad("FILE", str(path), "a file ending in .npz or .json")
    return _validate(raw, str(path))


def _read_npz(p: Path) -> dict:
    try:
        # the file is opened here, not by np.load, which leaves its handle open when the
        # archive is corrupt (a ResourceWarning per hostile file)
        with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            raw = {}
            for key in data.files:
                try:
                    raw[key] = data[key]
                except ValueError:  # object arrays need pickle
                    raise _bad(key, "<object array>", "a numeric or string array",
                               "pickled objects are refused (allow_pickle=False)") from None
                if raw[key].dtype.hasobject:
                    raise _bad(key, "<object array>", "a numeric or string array")
            return raw
    except InvalidParameter:
        raise
    except Exception as exc:  # zipfile.BadZipFile, OSError, ValueError from a corrupt header
        raise _bad("FILE", str(p), "a readable .npz archive", f"{type(exc).__name__}: {exc}") from None


def _read_json(p: Path) -> dict:
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad("FILE", str(p), "a readable UTF-8 .json file", type(exc).__name__) from None
    try:
        obj = json.loads(text, parse_constant=lambda c: float("nan"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _bad("FILE", str(p), "valid JSON", str(exc)[:80]) from None
    if not isinstance(obj, dict):
        raise _bad("FILE", type(obj).__name__, "a JSON object of named arrays at the top level")
    return obj


def _scalar(raw, key):
    v = raw[key]
    if isinstance(v, np.ndarray):
        if v.ndim != 0:
            raise _bad(key, f"<array of shape {v.shape}>", "a scalar")
        v = v.item()
    return v


def _number_text(key, v) -> str:
    """An exact decimal text for beta_start / beta_end (numbers converted by repr)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise _bad(key, v, "a number or a decimal string")
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            raise _bad(key, v, "a decimal string such as '0.00085'") from None
    else:
        f = float(v)
    if not (math.isfinite(f) and 0 < f < 1):
        raise _bad(key, v, "a number in (0, 1)")
    return v if isinstance(v, str) else repr(float(v))


def _array(key, v) -> np.ndarray:
    if isinstance(v, list):
        for i, x in enumerate(v):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise _bad(f"{key}[{i}]", x, "a number")
        v = np.asarray(v, dtype=np.float64)
    elif isinstance(v, np.ndarray):
        if v.dtype.kind not in "fiu":
            raise _bad(key, f"<{v.dtype} array>", "a numeric array")
    else:
        raise _bad(key, v, "a list of numbers")
    if v.ndim != 1:
        raise _bad(key, f"<array of shape {v.shape}>", "a 1-D array")
    if v.size == 0 or v.size > MAX_T:
        raise _bad(key, f"<{v.size} values>", f"1 to {MAX_T} values")
    bad = np.flatnonzero(~np.isfinite(v.astype(np.float64)))
    if bad.size:
        raise _bad(f"{key}[{bad[0]}]", float(v[bad[0]]), "a finite number")
    return v


def _validate(raw: dict, path: str) -> dict:
    unknown = sorted(set(raw) - set(SCALAR_KEYS) - set(ARRAY_KEYS))
    if unknown:
        raise _bad(unknown[0], "<present>", "one of the documented keys: "
                   + ", ".join(SCALAR_KEYS + ARRAY_KEYS))
    if "schedule" not in raw:
        raise _bad("schedule", None, "one of " + ", ".join(SCHEDULES), "the key is missing")
    schedule = _scalar(raw, "schedule")
    if schedule not in SCHEDULES:
        raise _bad("schedule", schedule, "one of " + ", ".join(SCHEDULES))
    arrays = {k: _array(k, raw[k]) for k in ARRAY_KEYS if k in raw}
    native32 = all(getattr(raw[k], "dtype", None) == np.float32 for k in arrays if k != "timesteps")
    if not arrays:
        raise _bad("FILE", path, "at least one table or 'timesteps'", "no known array key found")
    tables = {k: v.astype(np.float64) for k, v in arrays.items() if k != "timesteps"}
    lengths = {v.size for v in tables.values()}
    if len(lengths) > 1:
        raise _bad("tables", sorted(lengths), "tables of one common length T")
    T = _scalar(raw, "T") if "T" in raw else (lengths.pop() if lengths else None)
    if isinstance(T, float) and T.is_integer():
        T = int(T)
    if T is None or isinstance(T, bool) or not isinstance(T, int) or not 1 <= T <= MAX_T:
        raise _bad("T", T, f"an integer in [1, {MAX_T}]",
                   "needed when only 'timesteps' is given" if T is None else "")
    for k, v in tables.items():
        if v.size != T:
            raise _bad(k, f"<{v.size} values>", f"T = {T} values")
    spec = {"schedule": schedule, "T": T,
            "beta_start": _number_text("beta_start", _scalar(raw, "beta_start")) if "beta_start" in raw else "0.0001",
            "beta_end": _number_text("beta_end", _scalar(raw, "beta_end")) if "beta_end" in raw else "0.02"}
    zsnr = _scalar(raw, "rescale_zero_snr") if "rescale_zero_snr" in raw else False
    if not isinstance(zsnr, bool):
        raise _bad("rescale_zero_snr", zsnr, "true or false")
    spec["rescale_zero_snr"] = zsnr
    if schedule == "given":
        if "betas" not in tables:
            raise _bad("betas", None, "the table of betas when schedule is 'given'", "the key is missing")
        b = tables["betas"]
        if np.any((b <= 0) | (b > 1)):
            i = int(np.flatnonzero((b <= 0) | (b > 1))[0])
            raise _bad(f"betas[{i}]", float(b[i]), "a number in (0, 1]")
    if "dtype" in raw:
        dtype = _scalar(raw, "dtype")
        if dtype not in DTYPES:
            raise _bad("dtype", dtype, "one of " + ", ".join(DTYPES))
    else:
        all32 = all(np.array_equal(v, v.astype(np.float32).astype(np.float64)) for v in tables.values())
        dtype = "float32" if (native32 or all32) else "float64"
    spec["dtype"] = dtype
    if "timesteps" in arrays:
        ts = arrays["timesteps"]
        if not np.all(np.equal(np.mod(ts, 1), 0)):
            raise _bad("timesteps", "<non-integer values>", "integers")
        if "timestep_spacing" not in raw:
            raise _bad("timestep_spacing", None, "leading, trailing or linspace, to check 'timesteps'")
        spacing = _scalar(raw, "timestep_spacing")
        if spacing not in ("leading", "trailing", "linspace"):
            raise _bad("timestep_spacing", spacing, "leading, trailing or linspace")
        offset = _scalar(raw, "steps_offset") if "steps_offset" in raw else 0
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < T:
            raise _bad("steps_offset", offset, f"an integer in [0, {T})")
        if ts.size > T:
            raise _bad("timesteps", f"<{ts.size} values>", f"at most T = {T} steps")
        spec.update(timestep_spacing=spacing, steps_offset=offset)
    return {"spec": spec, "arrays": arrays}


def check_file(path, dps: int = 50) -> Report:
    """Run every applicable check on an arrays file and return the report."""
    start = time.monotonic()
    data = load(path)
    spec, arrays = data["spec"], data["arrays"]
    T = spec["T"]
    where = f"{os.path.basename(str(path))} ({spec['schedule']}, T={T}, {spec['dtype']})"
    results = []
    tables = {k: v for k, v in arrays.items() if k != "timesteps"}
    if tables:
        given = [float(b) for b in tables["betas"]] if spec["schedule"] == "given" else None
        exs = ExactSchedule(spec["schedule"], T, spec["beta_start"], spec["beta_end"],
                            zero_snr=spec["rescale_zero_snr"], dps=dps, given=given)
        results += check_tables(tables, exs, dtype=spec["dtype"], where=where)
    if "timesteps" in arrays:
        ts = arrays["timesteps"]
        results.append(check_timesteps(ts, spec["timestep_spacing"], T, int(ts.size),
                                       spec["steps_offset"], where))
    return Report("arrays", "file", results, time.monotonic() - start, loaded_from=str(path))
