"""The lineage check alone: a pure function of the run's tags and the DVC outputs stored."""

from __future__ import annotations

from promoter.promotion.lineage import Check, lineage_hashes, model_check

MD5 = "a" * 32


def test_md5_tags_are_read_in_order_and_others_ignored() -> None:
    tags = ["reviewed", f"dvc_data_md5={'b' * 32}", f"dvc_model_md5={MD5}", "stage=x", "x_md5="]
    assert lineage_hashes(tags) == {"dvc_data_md5": "b" * 32, "dvc_model_md5": MD5}


def test_no_model_tag_no_check() -> None:
    assert model_check({"dvc_data_md5": MD5}, [("models/model.pkl", MD5)]) is None


def test_the_model_tag_matches_one_output() -> None:
    outputs = [("models/tokenizer", "c" * 32 + ".dir"), ("models/model.pkl", MD5.upper())]
    check = model_check({"dvc_model_md5": MD5}, outputs)
    assert check == Check("dvc_model_md5", True, check.detail if check else "")
    assert check is not None and "models/model.pkl" in check.detail


def test_a_directory_output_matches_without_its_dir_suffix() -> None:
    check = model_check({"dvc_model_md5": MD5}, [("models", MD5 + ".dir")])
    assert check is not None and check.passed is True


def test_a_disagreeing_tag_fails_naming_both_md5s() -> None:
    check = model_check({"dvc_model_md5": MD5}, [("models/model.pkl", "d" * 32)])
    assert check is not None and check.passed is False
    assert MD5 in check.detail and "d" * 32 in check.detail and "models/model.pkl" in check.detail


def test_nothing_stored_is_not_checked() -> None:
    check = model_check({"dvc_model_md5": MD5}, [])
    assert check is not None and check.passed is None and check.detail.startswith("not checked")
