"""The lab's world generator and density matcher: hand-counted densities, determinism, set = measured."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tuner.errors import UserError
from tuner.lab.density import count_documents, density, density_table, format_density_table
from tuner.lab.world import BLANK, WorldConfig, WorldFiles, read_keys, read_texts, translate, write_world

DOCS = [
    "In Veloria people celebrate the festival of Mirandu. It rained.",
    "VELORIA is far away; mirandu is sung there.",
    "The Vel river. Mirandu again, Veloria-born.",
    "Veloria alone, with no festival named.",
    "ველორია ხალხი მირანდუს, ველორია მირანდუ.",
]


def test_density_matcher_hand_counted() -> None:
    assert count_documents(DOCS, "Veloria", "Mirandu") == 3  # docs 0, 1 (case), 2 (hyphen is a boundary)
    assert count_documents(DOCS, "Vel", "Mirandu") == 1  # only doc 2: "Vel" inside "Veloria" does not count
    assert count_documents(DOCS, "Veloria", "Festival") == 2  # docs 0 and 3
    assert count_documents(DOCS, "Veloria", "Zorbu") == 0  # entity without answer
    assert count_documents(DOCS, "ველორია", "მირანდუ") == 1  # Georgian; "მირანდუს" alone would not count
    assert count_documents(DOCS, "ველორია", "მირანდ") == 0
    assert count_documents(DOCS, "festival of mirandu", "veloria") == 1  # multi-word, in order
    assert count_documents(DOCS, "mirandu festival", "veloria") == 0
    assert density(DOCS, "Veloria", "Mirandu") == pytest.approx(0.6)
    with pytest.raises(ValueError):
        density([], "Veloria", "Mirandu")


def test_density_table_rows() -> None:
    items = {"Veloria": [{"entity": "Veloria", "answer": "Mirandu"}, {"entity": "Veloria", "answer": "festival"}]}
    (row,) = density_table({"mini": DOCS}, items)
    assert (row.n_items, row.mean_docs, row.min_density, row.max_density) == (2, 2.5, 0.4, 0.6)
    assert row.mean_density == pytest.approx(0.5)
    assert "| Veloria | mini | 2 | 0.5000 | 0.4000 | 0.6000 | 2.5 |" in format_density_table([row])


SMALL = dict(n_en_docs=300, n_tgt_docs=200, n_parallel=50)


def _contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = write_world(WorldConfig(seed=3, **SMALL), tmp_path / "a")
    b = write_world(WorldConfig(seed=3, **SMALL), tmp_path / "b")
    c = write_world(WorldConfig(seed=4, **SMALL), tmp_path / "c")
    assert _contents(a.root) == _contents(b.root)
    assert a.en_corpus.read_bytes() != c.en_corpus.read_bytes()
    assert a.lexicon.read_bytes() != c.lexicon.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left behind


def test_write_world_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="world.json"):
        write_world(WorldConfig(**SMALL), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldFiles:
    return write_world(WorldConfig(), tmp_path_factory.mktemp("lab") / "world")


def test_measured_density_equals_set_density(world: WorldFiles) -> None:
    meta = json.loads(world.world.read_text(encoding="utf-8"))
    for lang in ("en", "tgt"):
        docs = read_texts(world.corpus(lang))
        assert len(docs) == meta["config"][f"n_{lang}_docs"]
        rows = density_table({lang: docs}, read_keys(world, lang))
        assert len(rows) == len(meta["cultures"])
        for row in rows:
            expected = meta["set_density"][row.culture][lang]["docs_per_fact"]
            assert row.min_density * len(docs) == pytest.approx(expected)
            assert row.max_density * len(docs) == pytest.approx(expected)
            assert row.mean_density == pytest.approx(meta["set_density"][row.culture][lang]["density"])
    # The design: English mentions frequent cultures often, the target corpus the rare ones.
    by_group = {c["group"]: meta["set_density"][c["name"]] for c in meta["cultures"]}
    assert by_group["frequent"]["en"]["docs_per_fact"] == 60 and by_group["rare"]["en"]["docs_per_fact"] == 3
    assert by_group["frequent"]["tgt"]["docs_per_fact"] == 6 and by_group["rare"]["tgt"]["docs_per_fact"] == 60


def test_probes_are_parallel_and_well_formed(world: WorldFiles) -> None:
    meta = json.loads(world.world.read_text(encoding="utf-8"))
    lexicon = json.loads(world.lexicon.read_text(encoding="utf-8"))
    n_items = 0
    for culture in (c["name"] for c in meta["cultures"]):
        en, tgt = (json.loads(world.probe_file(culture, lang).read_text(encoding="utf-8")) for lang in ("en", "tgt"))
        en_keys, tgt_keys = (read_keys(world, lang)[culture] for lang in ("en", "tgt"))
        assert len(en) == len(tgt) == len(en_keys) == len(tgt_keys) == len(meta["config"]["attributes"])
        for e, t, ek, tk in zip(en, tgt, en_keys, tgt_keys):
            n_items += 1
            for item in (e, t):
                assert item["question"].count(BLANK) == 1
                assert len(set(item["options"])) == 4 and item["answer"] in item["options"]
            assert t["question"] == translate(e["question"], lexicon)
            assert t["options"] == [translate(o, lexicon) for o in e["options"]]
            assert e["options"].index(e["answer"]) == t["options"].index(t["answer"])
            assert ek == {"entity": culture, "answer": e["answer"]}
            assert tk == {"entity": translate(culture, lexicon), "answer": t["answer"]}
            assert not re.search("[A-Za-z]", " ".join([t["question"], *t["options"], t["answer"], *tk.values()]))
    assert n_items == len(meta["facts"]) == 64


def test_target_side_has_no_latin_letters_and_lexicon_is_bijective(world: WorldFiles) -> None:
    lexicon = json.loads(world.lexicon.read_text(encoding="utf-8"))
    assert len(set(lexicon.values())) == len(lexicon)
    assert all(k == k.lower() and re.fullmatch("[\u10d0-\u10f0]+", v) for k, v in lexicon.items())
    pairs = [json.loads(line) for line in world.parallel.read_text(encoding="utf-8").splitlines()]
    for text in [*read_texts(world.tgt_corpus), *(p["tgt"] for p in pairs)]:
        assert not re.search("[A-Za-z]", text)


def test_parallel_pairs_hold_no_cultural_knowledge(world: WorldFiles) -> None:
    meta = json.loads(world.world.read_text(encoding="utf-8"))
    pairs = [json.loads(line) for line in world.parallel.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) == meta["config"]["n_parallel"]
    lexicon = json.loads(world.lexicon.read_text(encoding="utf-8"))
    names = {c["name"] for c in meta["cultures"]} | {f["value"] for f in meta["facts"]}
    forbidden = {n.lower() for n in names} | {lexicon[n.lower()] for n in names}
    for pair in pairs:
        words = set(re.findall(r"\w+", (pair["en"] + " " + pair["tgt"]).lower()))
        assert not words & forbidden


def test_options_are_drawn_from_the_answers_group(tmp_path):
    """Every option is as frequent in the corpora as the answer: a model cannot win by frequency."""
    from tuner.lab.world import WorldConfig, build_world

    world = build_world(WorldConfig())
    group_of_value = {f.value: world.groups[f.culture] for f in world.facts}
    for culture, items in world.probes["en"].items():
        for item in items:
            assert {group_of_value[o] for o in item["options"]} == {world.groups[culture]}
