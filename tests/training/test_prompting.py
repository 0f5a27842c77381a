"""Few-shot prompt builder: one medoid per cluster, within the token budget, system prompt from the right place."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation.cluster import Cluster, Clustering
from curation.errors import DataError, UsageError
from curation.example import Example
from training.prompting import (
    PromptConfig,
    build_prompt,
    count_prompt_tokens,
    load_prompt,
    save_prompt,
    select_examples,
    task_from_answers,
)

TOPICS = {
    "weather": [
        ("Will it rain in Paris tomorrow?", "Light rain is expected in Paris tomorrow afternoon."),
        ("What's the forecast for Berlin this weekend?", "Berlin will be sunny and 24 °C this weekend."),
        ("Is it going to snow in Oslo on Friday?", "Yes, about 5 cm of snow is forecast for Oslo on Friday."),
        ("How windy will it be in Dublin today?", "Gusts up to 60 km/h are expected in Dublin today."),
        ("Do I need an umbrella in London tomorrow?", "Yes, showers are likely in London tomorrow."),
        ("What temperature will it be in Madrid tonight?", "Madrid will cool to about 18 °C tonight."),
    ],
    "cooking": [
        ("How long should I boil an egg for a soft yolk?", "Boil it for six minutes, then cool it in cold water."),
        ("What can I use instead of buttermilk in pancakes?", "Mix milk with a spoon of lemon juice and wait five minutes."),
        ("How do I keep pasta from sticking together?", "Use plenty of boiling salted water and stir in the first minute."),
        ("At what temperature should I roast a chicken?", "Roast it at 200 °C for about 20 minutes per 500 g."),
        ("How do I make rice less mushy?", "Rinse it first and use 1.5 cups of water per cup of rice."),
        ("Can I freeze homemade bread dough?", "Yes, freeze it after the first rise for up to a month."),
    ],
    "maths": [
        ("What is 17 multiplied by 3?", "51"),
        ("What is the square root of 144?", "12"),
        ("What is 15% of 80?", "12"),
        ("How much is 250 divided by 5?", "50"),
        ("What is 2 to the power of 10?", "1024"),
        ("What is 999 plus 1?", "1000"),
    ],
}
SYSTEM = "You are a concise assistant for weather, cooking and arithmetic questions."


def _examples(system: str | None = SYSTEM) -> list[Example]:
    out = []
    for topic, pairs in TOPICS.items():
        for i, (question, answer) in enumerate(pairs):
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            out.append(Example(f"{topic}-{i}", messages))
    return out


@pytest.fixture(scope="module")
def built(embedder, tokenizer):
    return build_prompt(_examples(), PromptConfig(examples=3, token_budget=1024), embedder=embedder, tokenizer=tokenizer)


def test_one_example_per_cluster_each_its_medoid(built):
    assert built.clusters == 3 and len(built.examples) == 3
    assert sorted(e.id.split("-")[0] for e in built.examples) == ["cooking", "maths", "weather"]
    assert len({e.cluster for e in built.examples}) == 3
    assert all(e.medoid for e in built.examples) and sum(e.cluster_size for e in built.examples) == 18


def test_tokens_counted_with_the_chat_template_within_budget(built, tokenizer):
    assert built.tokens == count_prompt_tokens(built.messages, tokenizer.tokenizer) <= built.token_budget
    assert built.messages[0] == {"role": "system", "content": SYSTEM} and built.system_source == "data"
    assert [m["role"] for m in built.messages[1:]] == ["user", "assistant"] * 3
    assert "Example 3\nUser: " in built.text and built.text.startswith(SYSTEM)


def test_a_small_budget_keeps_the_largest_clusters_that_fit(embedder, tokenizer, built):
    one = count_prompt_tokens(built.messages[:3], tokenizer.tokenizer)
    small = build_prompt(_examples(), PromptConfig(examples=3, token_budget=one + 10), embedder=embedder, tokenizer=tokenizer)
    assert 1 <= len(small.examples) < 3 and small.tokens <= one + 10
    assert len(small.left_out_clusters) == 3 - len(small.examples)
    assert small.tokens == count_prompt_tokens(small.messages, tokenizer.tokenizer)


def test_next_most_typical_member_when_the_medoid_does_not_fit(tokenizer):
    examples = [
        Example("long", [{"role": "user", "content": "tell me " * 200}, {"role": "assistant", "content": "ok"}]),
        Example("short", [{"role": "user", "content": "tell me"}, {"role": "assistant", "content": "ok"}]),
        Example("far", [{"role": "user", "content": "other"}, {"role": "assistant", "content": "ok"}]),
    ]
    vectors = np.array([[1.0, 0.0], [0.95, 0.31], [0.0, 1.0]], dtype=np.float32)
    clustering = Clustering(np.zeros(3, dtype=np.int64), 1, np.array([[1.0, 0.0]], dtype=np.float32),
                            [Cluster(0, 3, 0, ["tell"], [0, 1, 2])])
    chosen, tokens, left_out = select_examples(examples, vectors, clustering, "Be brief.", tokenizer.tokenizer, 120, 5)
    assert [(c.id, c.medoid) for c in chosen] == [("short", False)] and left_out == [] and tokens <= 120
    chosen, _, left_out = select_examples(examples, vectors, clustering, "Be brief.", tokenizer.tokenizer, 120, 1)
    assert chosen == [] and left_out == [0]  # only the medoid may be tried: the cluster is left out


def test_system_prompt_from_answers_yaml_or_generic(tmp_path, embedder, tokenizer):
    answers = tmp_path / "answers.yaml"
    answers.write_text("task:\n  description: Answer customer questions about the Velo bike shop.\nvolume: 300\n")
    assert task_from_answers(answers) == "Answer customer questions about the Velo bike shop."
    from_task = build_prompt(_examples(), PromptConfig(examples=2, answers=str(answers)), embedder=embedder, tokenizer=tokenizer)
    assert from_task.system_source == "task" and from_task.system.startswith("Answer customer questions about the Velo")
    generic = build_prompt(_examples(system=None), PromptConfig(examples=3), embedder=embedder, tokenizer=tokenizer)
    assert generic.system_source == "generic" and "mostly about" in generic.system


def test_save_and_load_round_trip(built, tmp_path):
    written = save_prompt(built, tmp_path / "p", PromptConfig())
    assert sorted(p.name for p in written) == ["messages.json", "prompt.txt", "selection.json"]
    assert load_prompt(tmp_path / "p") == built.messages
    selection = json.loads((tmp_path / "p" / "selection.json").read_text())
    assert [e["id"] for e in selection["examples"]] == [e.id for e in built.examples]
    assert selection["settings"]["token_budget"] == 1024
    assert not list((tmp_path / "p").glob(".*tmp"))


def test_bad_prompt_file_and_settings(tmp_path):
    bad = tmp_path / "messages.json"
    bad.write_text(json.dumps([{"role": "robot", "content": "x"}]))
    with pytest.raises(DataError, match="chat messages"):
        load_prompt(bad)
    with pytest.raises(UsageError, match="No prompt"):
        load_prompt(tmp_path / "missing")
    with pytest.raises(UsageError, match="token_budget"):
        PromptConfig(token_budget=5)
    with pytest.raises(UsageError, match="examples"):
        PromptConfig(examples=0)
