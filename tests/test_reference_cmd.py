"""``diffusion-proofs reference``: each table printed in each format, and bad input rejected.

Expected values are derived here (exact Fractions, hand-derived timestep lists, the Karras
endpoints), not copied from the command's output.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from numerics.errors import InvalidParameter
from numerics.precision import workdps
from proofs_check import reference_cmd
from proofs_check.errors import UsageError


def parse(argv):
    parser = argparse.ArgumentParser(prog="diffusion-proofs")
    sub = parser.add_subparsers(dest="command")
    reference_cmd.configure(sub)
    return parser.parse_args(["reference", *argv])


def run(argv, capsys):
    code = reference_cmd.run(parse(argv))
    return code, capsys.readouterr().out


def test_schedule_csv_matches_exact_rational_products(capsys):
    code, out = run(["schedule", "--T", "10", "--columns", "beta,alpha_bar", "--dps", "40",
                     "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["t"]) for r in rows] == list(range(10))
    prod = Fraction(1)
    with workdps(40):
        for i, r in enumerate(rows):
            beta = Fraction(1, 10_000) + (Fraction(2, 100) - Fraction(1, 10_000)) * Fraction(i, 9)
            prod *= 1 - beta
            exact = mpmath.mpf(prod.numerator) / prod.denominator
            # 40 significant digits printed: agreement to 1e-38 relative (2 digits of slack)
            assert abs(mpmath.mpf(r["alpha_bar"]) - exact) <= exact * mpmath.mpf(10) ** -38


def test_schedule_rows_digits_and_text(capsys):
    code, out = run(["schedule", "--T", "1000", "--rows", "0:2,999", "--digits", "12",
                     "--columns", "alpha_bar_prev,log_beta_tilde_floored"], capsys)
    lines = out.strip().splitlines()
    assert lines[0].startswith("# schedule linear") and len(lines) == 2 + 3
    assert lines[2].split()[:2] == ["0", "1.0"]                 # alpha_bar_{-1} = 1
    assert lines[2].split()[2] == mpmath.nstr(-20 * mpmath.log(10), 12)   # log(1e-20)
    assert lines[-1].split()[0] == "999"


def test_timesteps_and_openai(capsys):
    _, out = run(["timesteps", "--spacing", "trailing", "--T", "10", "--steps", "3",
                  "--format", "json"], capsys)
    assert json.loads(out)["columns"]["t"] == ["9", "6", "2"]    # round(10, 20/3, 10/3) - 1
    _, out = run(["timesteps", "--T", "10", "--openai", "ddim3", "--format", "csv"], capsys)
    assert [int(x) for x in out.split()[1:]] == [0, 4, 8]         # stride 4: 0, 4, 8


def test_karras_edm_sde_ddim(capsys):
    _, out = run(["karras", "--n", "4", "--sigma-min", "0.0292", "--sigma-max", "14.6",
                  "--format", "json", "--dps", "30"], capsys)
    sig = json.loads(out)["columns"]["sigma"]
    assert sig[0] == "14.6" and sig[3] == "0.0292" and sig[4] == "0.0" and len(sig) == 5
    _, out = run(["edm", "--sigma", "1", "--sigma-data", "1", "--format", "csv"], capsys)
    row = list(csv.DictReader(io.StringIO(out)))[0]
    assert mpmath.mpf(row["c_skip"]) == mpmath.mpf("0.5")        # sd^2/(s^2 + sd^2) at s = sd
    _, out = run(["sde", "--kind", "ve", "--t", "0", "1", "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [mpmath.mpf(r["std"]) for r in rows] == [mpmath.mpf("0.01"), mpmath.mpf(50)]
    _, out = run(["ddim", "--T", "1000", "--steps", "4", "--eta", "0", "--format", "md"], capsys)
    assert out.count("\n| ") == 5 and "| 750 | 500 |" in out       # leading: 750, 500, 250, 0


def test_npz_output_loads_without_pickle(tmp_path, capsys):
    target = tmp_path / "table.npz"
    code, out = run(["schedule", "--schedule", "cosine", "--T", "50", "--columns", "all",
                     "--format", "npz", "--output", str(target)], capsys)
    assert code == 0 and out == ""
    with np.load(target, allow_pickle=False) as data:
        assert data["t"].dtype == np.int64 and len(data["alpha_bar"]) == 50
        assert json.loads(str(data["meta"]))["dps"] == 50
        assert data["alpha_bar_prev"][0] == 1.0 and data["beta"][-1] == 0.999


def test_global_options_before_the_subcommand_are_kept(capsys):
    args = parse(["--format", "csv", "--dps", "25", "timesteps", "--T", "4", "--steps", "2"])
    assert args.format == "csv" and args.dps == 25
    reference_cmd.run(args)
    assert capsys.readouterr().out.splitlines()[0] == "k,t"


@pytest.mark.parametrize("argv,error,name", [
    (["schedule", "--format", "npz"], UsageError, None),
    (["schedule", "--columns", "alpha_bar,nope"], InvalidParameter, "--columns"),
    (["schedule", "--T", "10", "--rows", "0:3,12"], InvalidParameter, "--rows"),
    (["schedule", "--beta-start", "2"], InvalidParameter, "beta_start"),
    (["schedule", "--beta-end", "abc"], InvalidParameter, "beta_end"),
    (["schedule", "--betas-file", "/nonexistent/betas.txt"], InvalidParameter, "--betas-file"),
    (["timesteps", "--T", "10", "--steps", "11"], InvalidParameter, "N"),
    (["karras", "--n", "3", "--sigma-min", "5", "--sigma-max", "1"], InvalidParameter,
     "sigma_max"),
    (["edm", "--sigma", "0"], InvalidParameter, "sigma"),
    (["sde", "--t", "2"], InvalidParameter, "t"),
    (["schedule", "--digits", "60"], InvalidParameter, "--digits"),
])
def test_bad_input_raises_a_suite_error(argv, error, name, capsys):
    with pytest.raises(error) as info:
        reference_cmd.run(parse(argv))
    if name:
        assert info.value.name == name


def test_user_betas_file(tmp_path, capsys):
    path = tmp_path / "betas.txt"
    path.write_text("0.1, 0.2\n0.5\n")
    _, out = run(["schedule", "--betas-file", str(path), "--columns", "alpha_bar",
                  "--format", "csv"], capsys)
    texts = [r["alpha_bar"] for r in csv.DictReader(io.StringIO(out))]
    with workdps(50):                 # exact: 0.9, 0.9 * 0.8, 0.72 * 0.5 (50 digits printed)
        values = [mpmath.mpf(t) for t in texts]
        assert values == [mpmath.mpf(x) for x in ("0.9", "0.72", "0.36")]
    path.write_text("0.1 1.5\n")
    with pytest.raises(InvalidParameter):
        reference_cmd.run(parse(["schedule", "--betas-file", str(path)]))


def test_argparse_rejects_bad_numbers():
    with pytest.raises(SystemExit):
        parse(["schedule", "--T", "0"])
    with pytest.raises(SystemExit):
        parse(["karras", "--n", "3"])                      # required bounds missing
    with pytest.raises(SystemExit):
        parse(["schedule", "--dps", "5"])


def test_main_gives_one_line_and_exit_code_2(capsys):
    cli = pytest.importorskip("proofs_check.cli")
    code = cli.main(["reference", "schedule", "--beta-start", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "beta_start" in err
    assert cli.main(["reference", "timesteps", "--T", "8", "--steps", "2"]) == 0
    assert capsys.readouterr().out.split()[-2:] == ["1", "0"]     # leading: [4, 0]
