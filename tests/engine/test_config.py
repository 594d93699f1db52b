"""The config loader: defaults, file, --set overrides, and one clear error per bad key."""

import pytest

from pipeline.config import config_sha256, load_config, parse_set
from pipeline.errors import ConfigError


def test_set_values_are_parsed_as_yaml():
    assert parse_set("crawl.seeds=[http://127.0.0.1:8000/]") == {"crawl": {"seeds": ["http://127.0.0.1:8000/"]}}
    assert parse_set("run.rejects_per_reason=5") == {"run": {"rejects_per_reason": 5}}


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="'run.no_such_key'"):
        load_config(None, ["run.no_such_key=1"])
    bad = tmp_path / "c.yaml"
    bad.write_text("nosection:\n  a: 1\n")
    with pytest.raises(ConfigError, match="'nosection'"):
        load_config(bad)


def test_type_mismatch_and_bad_engine_are_named():
    with pytest.raises(ConfigError, match="'run.rejects_per_reason': Input should be a valid integer"):
        load_config(None, ["run.rejects_per_reason=lots"])
    with pytest.raises(ConfigError, match="'engine'"):
        load_config(None, ["engine=dask"])


def test_missing_and_invalid_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("run: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml is not valid YAML"):
        load_config(broken)


def test_file_then_set_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run:\n  rejects_per_reason: 3\nseed: 7\n")
    config = load_config(path, ["seed=9"])
    assert config["run"]["rejects_per_reason"] == 3
    assert config["seed"] == 9
    assert config["engine"] == "local"  # default kept


def test_config_hash_depends_on_own_sections_and_seed_not_engine():
    base = load_config(None, [])
    other_engine = load_config(None, ["engine=ray"])
    other_seed = load_config(None, ["seed=99"])
    assert config_sha256(base, ("run",)) == config_sha256(other_engine, ("run",))
    assert config_sha256(base, ("run",)) != config_sha256(other_seed, ("run",))


def test_free_form_tables_accept_any_key_but_sections_do_not():
    config = load_config(None, ["spark.conf={spark.executor.memory: 2g}"])
    assert config["spark"]["conf"] == {"spark.executor.memory": "2g"}
    with pytest.raises(ConfigError, match="'spark.conff'"):
        load_config(None, ["spark.conff=1"])


def test_config_hash_can_follow_a_single_key():
    base = load_config(None, [])
    other_repos = load_config(None, ["github.repos=[/tmp/repo]"])
    other_benchmarks = load_config(None, ["github.benchmarks=[]"])
    sections = ("tokenize", "github.benchmarks")
    assert config_sha256(base, sections) == config_sha256(other_repos, sections)
    assert config_sha256(base, sections) != config_sha256(other_benchmarks, sections)


def test_ranges_live_beside_the_fields_and_name_the_key():
    with pytest.raises(ConfigError, match=r"'dedup.threshold': Input should be less than 1 \(got 1.5\)"):
        load_config(None, ["dedup.threshold=1.5"])
    with pytest.raises(ConfigError, match="'quality.ensemble'"):
        load_config(None, ["quality.ensemble=median"])
    with pytest.raises(ConfigError, match="'extract.languages'"):
        load_config(None, ["extract.languages=english"])


def test_unknown_rule_threshold_is_an_error_not_silently_dropped():
    with pytest.raises(ConfigError, match="unknown config key 'quality.rules.gopher_quality.min_doc_wordz'"):
        load_config(None, ["quality.rules.gopher_quality.min_doc_wordz=10"])


@pytest.mark.parametrize("stage", ["quality", "dedup", "rebalance"])
def test_old_input_spelling_says_the_new_name(stage):
    with pytest.raises(ConfigError, match=f"'{stage}.input' was renamed to '{stage}.inputs'"):
        load_config(None, [f"{stage}.input=[a.parquet]"])


def test_every_stage_reads_its_inputs_from_one_key_as_a_list():
    config = load_config(None, ["dedup.inputs=data/*.parquet", "quality.inputs=[a.parquet, b.parquet]"])
    assert config["dedup"]["inputs"] == ["data/*.parquet"]
    assert config["quality"]["inputs"] == ["a.parquet", "b.parquet"]
    for section in ("extract", "quality", "dedup", "rebalance", "code", "tokenize"):
        assert "inputs" in config[section]


def test_printed_defaults_load_back_to_the_defaults(tmp_path):
    from pipeline.config import describe_defaults

    path = tmp_path / "defaults.yaml"
    path.write_text(describe_defaults())
    assert load_config(path) == load_config(None)
