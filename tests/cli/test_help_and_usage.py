"""--help of every command, and one-line errors with exit status 2 for bad arguments."""
import pytest

from compgraph.cli import ACTIVATIONS, DATASETS, MODELS, OPTIMIZERS, main

HELP_MENTIONS = {
    None: ["train", "test", "plot", "graph", "data"],
    "train": ["--model", "--data", "--epochs", "--batch-size", "--optimizer", "--lr", "--hidden",
              "--seed", "--resume", "--data-dir", "--limit", "--out", "metrics.jsonl"],
    "test": ["--checkpoint", "--data-dir"],
    "plot": ["RUN", "--output"],
    "graph": ["--model", "--out", "--hidden"],
    "data": ["--data", "--data-dir", "--no-download"],
}


@pytest.mark.parametrize("command", list(HELP_MENTIONS))
def test_help_exits_0_and_lists_the_options(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(([command] if command else []) + ["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in HELP_MENTIONS[command]:
        assert word in text, f"{command or 'compgraph'} --help does not mention {word}"


def test_train_help_documents_the_default_settings(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for model in MODELS:
        assert f"\n  {model} " in text  # a row of the defaults table per model


@pytest.mark.parametrize("argv, complaint", [
    ([], "required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--model", "rnn"], "invalid choice: 'rnn'"),
    (["train", "--epochs", "0"], "positive integer, got '0'"),
    (["train", "--epochs", "two"], "positive integer, got 'two'"),
    (["train", "--lr", "-0.1"], "positive number, got '-0.1'"),
    (["train", "--hidden", "256,,10"], "layer sizes"),
    (["train", "--momentum", "1.5"], "[0, 1)"),
    (["train", "--seed", "-3"], "non-negative integer"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--model", "cnn", "--hidden", "64"], "--hidden applies to --model mlp only"),
    (["test"], "required: --checkpoint"),
    (["plot"], "required: RUN"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, complaint, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        if main(argv) == 2:  # errors found after parsing are returned, not raised
            raise SystemExit(2)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("compgraph") and "error:" in err and complaint in err


def test_the_parser_choices_match_what_the_trainer_supports():
    # cli.py repeats these lists so that `--help` does not import the engine.
    from compgraph.train import config, models
    assert set(MODELS) == set(models.MODELS)
    assert set(DATASETS) == set(config.DATASETS)
    assert set(OPTIMIZERS) == set(config.OPTIMIZERS)
    assert set(ACTIVATIONS) == set(models.ACTIVATIONS)
