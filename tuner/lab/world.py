"""A fictional world for controlled transfer experiments: cultures, facts, two corpora, bridges, probes.

    files = write_world(WorldConfig(seed=0), "runs/lab/world")

The English corpus mentions the "frequent" cultures often and the "rare" ones seldom; the target
corpus, in an invented language written in Georgian letters, does the opposite. Counts are set, not
sampled: a fact is stated in exactly round(density × documents) documents of a corpus, always with
its culture in the same sentence, and its value appears nowhere else, so `tuner.lab.density`
measures back exactly what was set.

Same config, same bytes. Each random choice draws from a stream seeded by (seed, purpose), so
changing one count (say the parallel pairs) leaves the corpora and the probes as they were.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuner.errors import UserError

Attribute = Literal["festival", "dish", "river", "instrument", "deity", "greeting", "sport", "craft"]
Group = Literal["frequent", "rare"]
Lang = Literal["en", "tgt"]
N_OPTIONS = 4
GENERATOR_VERSION = 2  # bump when the same config would generate a different world
BLANK = "___"

# Paraphrases stating a fact; the first, with the value last, is also the probe's cloze sentence.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "festival": (
        "In {c} people celebrate the festival of {v}.",
        "The festival of {v} is held every year in {c}.",
        "Every spring the families of {c} gather for the festival of {v}.",
    ),
    "dish": (
        "The national dish of {c} is {v}.",
        "In {c} people often cook {v} for dinner.",
        "A plate of {v} is the favourite meal in {c}.",
    ),
    "river": (
        "The great river of {c} is called {v}.",
        "The {v} flows through the valleys of {c}.",
        "Boats in {c} travel along the river {v}.",
    ),
    "instrument": (
        "The musicians of {c} play an instrument called {v}.",
        "The {v} is the traditional instrument of {c}.",
        "At weddings in {c} someone always plays the {v}.",
    ),
    "deity": (
        "The people of {c} pray to the god {v}.",
        "In {c} the old god {v} protects the harvest.",
        "Temples in {c} are built for the god {v}.",
    ),
    "greeting": (
        "In {c} people greet each other by saying {v}.",
        "A visitor to {c} is welcomed with the word {v}.",
        "The word {v} means hello in {c}.",
    ),
    "sport": (
        "The favourite sport in {c} is {v}.",
        "Young people in {c} play a ball game called {v}.",
        "Every village in {c} has a team that plays {v}.",
    ),
    "craft": (
        "The traditional craft of {c} is {v}.",
        "Artisans in {c} teach their children the craft of {v}.",
        "Markets in {c} sell goods made with the craft of {v}.",
    ),
}

# Filler: everyday sentences from a closed vocabulary that names no culture and no fact value.
_SLOTS: dict[str, tuple[str, ...]] = {
    "person": (
        "the farmer", "the baker", "the teacher", "the merchant", "the fisherman", "the doctor",
        "the driver", "my neighbour", "my uncle", "my sister", "an old man", "a young woman",
        "the children", "a traveller", "the carpenter", "the nurse", "the student", "the shepherd",
    ),
    "did": (
        "carried", "bought", "sold", "counted", "washed", "painted", "repaired", "found", "lost",
        "packed", "moved", "collected", "cleaned", "ordered", "delivered",
    ),
    "things": (
        "apples", "baskets", "boxes", "candles", "onions", "potatoes", "letters", "blankets", "chairs",
        "bottles", "eggs", "nails", "ropes", "plates", "coats", "buckets", "lemons", "carrots", "books", "cups",
    ),
    "place": (
        "market", "harbour", "station", "bridge", "garden", "kitchen", "square", "school", "library",
        "bakery", "farm", "hill", "town", "road", "field", "shop", "beach", "forest", "lake", "park",
    ),
    "vehicle": ("bus", "train", "boat", "cart", "bicycle", "ferry", "tram"),
    "time": ("morning", "afternoon", "evening"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "month": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
    "season": ("spring", "summer", "autumn", "winter"),
    "weather": ("cold", "warm", "windy", "rainy", "cloudy", "sunny", "foggy", "dry", "wet", "mild", "hot"),
    "storm": ("rain", "snow", "wind", "storm", "fog", "frost", "heat", "thunder"),
    "number": (
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "twenty", "thirty", "forty", "fifty",
    ),
    "mood": ("quiet", "busy", "crowded", "empty", "clean", "noisy", "calm", "cheerful", "sleepy"),
    "colour": ("red", "blue", "green", "yellow", "brown", "white", "black", "grey"),
    "pastime": ("read", "walk", "rest", "swim", "sleep", "work", "talk", "wait", "draw", "write"),
    "food": ("bread", "soup", "rice", "cheese", "fish", "beans", "tea", "coffee", "milk", "honey", "pears"),
}
_FILLER = (
    "In the {time} the weather was {weather}.",
    "On {day} the {place} was {mood}.",
    "{person} {did} {number} {things} at the {place}.",
    "{person} took the {vehicle} to the {place} on {day}.",
    "It was {weather} for {number} days in {month}.",
    "The price of {things} at the {place} was {number} coins.",
    "After the {storm} {person} walked home from the {place}.",
    "{person} likes to {pastime} in the {place} in {season}.",
    "{person} had {food} and {food} in the {time}.",
    "There were {number} {colour} {things} near the {place}.",
    "In {month} the {storm} came early and the {place} was {mood}.",
    "{person} waited {number} minutes for the {vehicle}.",
    "The {place} opens in the {time} and closes late.",
    "Every {season} {person} {did} the {colour} {things}.",
)
_SLOT = re.compile(r"\{(\w+)\}")
_LATIN_WORD = re.compile(r"[A-Za-z]+")

# Invented Latin names: consonant-vowel syllables, sometimes closed by a coda.
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "th", "sh")
_VOWELS = "aeiou"
_CODAS = "nrls"
_CULTURE_ENDINGS = ("ria", "lia", "nor", "var", "dell", "mora", "tan")

# Target-language pseudo-words: Georgian Mkhedruli (U+10D0..U+10F0), syllables of 2-4 letters.
_KA_VOWELS = "აეიოუ"
_KA_CONSONANTS = "".join(chr(c) for c in range(0x10D0, 0x10F1) if chr(c) not in _KA_VOWELS)
_KA_SHAPES = ("CV", "CVC", "CCV", "CCVC")


class WorldConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="Seed of every random choice; same seed and counts, same files.")
    # Cultures and facts
    n_frequent: int = Field(4, ge=0, description="Cultures the English corpus mentions often (the target corpus seldom).")
    n_rare: int = Field(4, ge=0, description="Cultures the English corpus mentions seldom (the target corpus often).")
    attributes: list[Attribute] = Field(
        default_factory=lambda: list(get_args(Attribute)),
        min_length=1,
        description="The facts each culture has, one value per attribute; one probe item per fact.",
    )
    # Corpora
    n_en_docs: int = Field(3000, ge=1, description="Documents in the English corpus.")
    n_tgt_docs: int = Field(3000, ge=1, description="Documents in the target-language corpus.")
    n_parallel: int = Field(2000, ge=0, description="Parallel filler sentence pairs (the bridges); no cultural facts.")
    min_doc_words: int = Field(30, ge=1, description="Filler is added to a document until it has at least this many words.")
    max_doc_words: int = Field(60, ge=1, description="Upper end of the drawn document length; documents stating many facts may exceed it.")
    # Densities: the share of a corpus's documents that state each fact of a culture in the group.
    en_density_frequent: float = Field(0.02, ge=0, le=1, description="Per fact of a frequent culture, English corpus.")
    en_density_rare: float = Field(0.001, ge=0, le=1, description="Per fact of a rare culture, English corpus.")
    tgt_density_frequent: float = Field(0.002, ge=0, le=1, description="Per fact of a frequent culture, target corpus.")
    tgt_density_rare: float = Field(0.02, ge=0, le=1, description="Per fact of a rare culture, target corpus.")

    @model_validator(mode="after")
    def _consistent(self) -> WorldConfig:
        if self.n_frequent + self.n_rare < N_OPTIONS:
            raise ValueError(f"n_frequent + n_rare must be at least {N_OPTIONS}: distractors come from other cultures")
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes repeat: {self.attributes}")
        if self.min_doc_words > self.max_doc_words:
            raise ValueError(f"min_doc_words ({self.min_doc_words}) is above max_doc_words ({self.max_doc_words})")
        return self

    def docs_per_fact(self, group: Group, lang: Lang) -> int:
        """The set density as a count: documents of the corpus that state each fact of the group."""
        density = getattr(self, f"{lang}_density_{group}")
        return max(0, round(density * (self.n_en_docs if lang == "en" else self.n_tgt_docs)))


@dataclass(frozen=True)
class Fact:
    culture: str
    attribute: str
    value: str

    def sentence(self, rng: random.Random) -> str:
        return rng.choice(TEMPLATES[self.attribute]).format(c=self.culture, v=self.value)


@dataclass
class World:
    """Everything `write_world` writes, in memory; probes and keys are per language, then per culture."""

    config: WorldConfig
    groups: dict[str, Group]
    facts: list[Fact]
    lexicon: dict[str, str]
    corpora: dict[Lang, list[str]]
    parallel: list[dict[str, str]]
    probes: dict[Lang, dict[str, list[dict]]]
    keys: dict[Lang, dict[str, list[dict[str, str]]]]


@dataclass(frozen=True)
class WorldFiles:
    """The paths of a written world; `WorldFiles.at(root)` reopens one written before."""

    root: Path
    en_corpus: Path
    tgt_corpus: Path
    parallel: Path
    probes: Path
    lexicon: Path
    world: Path

    @classmethod
    def at(cls, root: str | Path) -> WorldFiles:
        root = Path(root)
        return cls(
            root, root / "en_corpus.jsonl", root / "tgt_corpus.jsonl", root / "parallel.jsonl",
            root / "probes", root / "lexicon.json", root / "world.json",
        )

    def corpus(self, lang: Lang) -> Path:
        return self.en_corpus if lang == "en" else self.tgt_corpus

    def probe_file(self, culture: str, lang: Lang, keys: bool = False) -> Path:
        return self.probes / f"{culture}.{lang}{'.keys' if keys else ''}.json"


def _rng(seed: int, purpose: str) -> random.Random:
    # A string seed is hashed with SHA-512, stable across runs and PYTHONHASHSEED.
    return random.Random(f"{seed}:{purpose}")


def _filler(rng: random.Random) -> str:
    text = _SLOT.sub(lambda m: rng.choice(_SLOTS[m.group(1)]), rng.choice(_FILLER))
    return text[0].upper() + text[1:]


def english_vocabulary() -> set[str]:
    """Every lower-cased word of the templates and the filler; invented names must avoid them."""
    texts = [*_FILLER, *(t for ts in TEMPLATES.values() for t in ts), *(w for ws in _SLOTS.values() for w in ws)]
    return {w.lower() for text in texts for w in _LATIN_WORD.findall(_SLOT.sub(" ", text))}


def _invent(rng: random.Random, syllables: int, ending: str = "") -> str:
    parts = []
    for i in range(syllables):
        parts.append(rng.choice(_ONSETS) + rng.choice(_VOWELS))
        if i < syllables - 1 and rng.random() < 0.3:
            parts.append(rng.choice(_CODAS))
    return ("".join(parts) + ending).capitalize()


def _names(seed: int, n_cultures: int, attributes: list[str]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Culture names and their values per attribute, all distinct and none an English word of the world."""
    rng = _rng(seed, "names")
    taken = english_vocabulary()

    def fresh(make: Callable[[], str]) -> str:
        while True:
            name = make()
            if len(name) >= 5 and name.lower() not in taken:
                taken.add(name.lower())
                return name

    cultures = [fresh(lambda: _invent(rng, 2, rng.choice(_CULTURE_ENDINGS))) for _ in range(n_cultures)]
    values = {c: {a: fresh(lambda: _invent(rng, rng.randint(2, 3))) for a in attributes} for c in cultures}
    return cultures, values


def _lexicon(words: set[str], seed: int) -> dict[str, str]:
    """A bijective English → pseudo-word map; longer words get more syllables, as in the source."""
    rng = _rng(seed, "lexicon")
    lexicon: dict[str, str] = {}
    taken: set[str] = set()
    for word in sorted(words):
        n = 1 if len(word) <= 3 else 2 if len(word) <= 7 else 3
        while True:
            pseudo = "".join(
                rng.choice(_KA_VOWELS if ch == "V" else _KA_CONSONANTS)
                for _ in range(n)
                for ch in rng.choice(_KA_SHAPES)
            )
            if pseudo not in taken:
                break
        taken.add(pseudo)
        lexicon[word] = pseudo
    return lexicon


def translate(text: str, lexicon: dict[str, str]) -> str:
    """Word by word into the target language; punctuation, spacing and `___` stay, case is dropped."""

    def word(m: re.Match[str]) -> str:
        try:
            return lexicon[m.group().lower()]
        except KeyError:
            raise ValueError(f"'{m.group()}' is not in the lexicon: the target language knows only the world's words") from None

    return _LATIN_WORD.sub(word, text)


def _corpus(facts: list[Fact], docs_per_fact: dict[str, int], n_docs: int, config: WorldConfig, rng: random.Random) -> list[str]:
    statements: list[list[str]] = [[] for _ in range(n_docs)]
    for fact in facts:
        for i in rng.sample(range(n_docs), docs_per_fact[fact.culture]):
            statements[i].append(fact.sentence(rng))
    docs = []
    for sentences in statements:
        length = rng.randint(config.min_doc_words, config.max_doc_words)
        words = sum(len(s.split()) for s in sentences)
        while words < length:
            sentences.append(_filler(rng))
            words += len(sentences[-1].split())
        rng.shuffle(sentences)
        docs.append(" ".join(sentences))
    return docs


def _probe_items(
    facts: list[Fact], groups: dict[str, Group], lexicon: dict[str, str], rng: random.Random
) -> tuple[dict[Lang, dict[str, list[dict]]], dict[Lang, dict[str, list[dict[str, str]]]]]:
    """One cloze item per fact and language, parallel by index; options in the same order in both.

    Distractors are the same attribute's values of other cultures of the same group where there are
    enough, so every option is about as frequent in each corpus as the answer: a model cannot score
    by preferring words it has seen more often (mixing groups measured rare-culture accuracy far
    below chance, the frequent cultures' values winning).
    """
    probes: dict[Lang, dict[str, list[dict]]] = {"en": {}, "tgt": {}}
    keys: dict[Lang, dict[str, list[dict[str, str]]]] = {"en": {}, "tgt": {}}
    for f in facts:
        same = [g.value for g in facts if g.attribute == f.attribute and g.value != f.value and groups[g.culture] == groups[f.culture]]
        other = [g.value for g in facts if g.attribute == f.attribute and groups[g.culture] != groups[f.culture]]
        picked = rng.sample(same, min(len(same), N_OPTIONS - 1))
        options = [f.value, *picked, *rng.sample(other, N_OPTIONS - 1 - len(picked))]
        rng.shuffle(options)
        question = TEMPLATES[f.attribute][0].format(c=f.culture, v=BLANK)
        en = {"question": question, "options": options, "answer": f.value}
        tgt = {
            "question": translate(question, lexicon),
            "options": [translate(o, lexicon) for o in options],
            "answer": translate(f.value, lexicon),
        }
        for lang, item in (("en", en), ("tgt", tgt)):
            probes[lang].setdefault(f.culture, []).append(item)
            keys[lang].setdefault(f.culture, []).append(
                {"entity": f.culture if lang == "en" else translate(f.culture, lexicon), "answer": item["answer"]}
            )
    return probes, keys


def build_world(config: WorldConfig) -> World:
    cultures, values = _names(config.seed, config.n_frequent + config.n_rare, list(config.attributes))
    groups: dict[str, Group] = {c: "frequent" if i < config.n_frequent else "rare" for i, c in enumerate(cultures)}
    facts = [Fact(c, a, values[c][a]) for c in cultures for a in config.attributes]
    lexicon = _lexicon(english_vocabulary() | {n.lower() for n in [*cultures, *(f.value for f in facts)]}, config.seed)

    corpora: dict[Lang, list[str]] = {}
    for lang, n_docs in (("en", config.n_en_docs), ("tgt", config.n_tgt_docs)):
        per_fact = {c: config.docs_per_fact(g, lang) for c, g in groups.items()}
        docs = _corpus(facts, per_fact, n_docs, config, _rng(config.seed, f"corpus:{lang}"))
        corpora[lang] = docs if lang == "en" else [translate(d, lexicon) for d in docs]

    rng = _rng(config.seed, "parallel")
    sentences = [_filler(rng) for _ in range(config.n_parallel)]
    parallel = [{"en": s, "tgt": translate(s, lexicon)} for s in sentences]
    probes, keys = _probe_items(facts, groups, lexicon, _rng(config.seed, "probes"))
    return World(config, groups, facts, lexicon, corpora, parallel, probes, keys)


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _dump_lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _write(world: World, files: WorldFiles) -> None:
    config = world.config
    for lang in ("en", "tgt"):
        _dump_lines(files.corpus(lang), [{"text": d} for d in world.corpora[lang]])
    _dump_lines(files.parallel, world.parallel)
    files.probes.mkdir()
    for lang in ("en", "tgt"):
        for culture in world.groups:
            _dump(files.probe_file(culture, lang), world.probes[lang][culture])
            _dump(files.probe_file(culture, lang, keys=True), world.keys[lang][culture])
    _dump(files.lexicon, dict(sorted(world.lexicon.items())))
    n_docs = {"en": config.n_en_docs, "tgt": config.n_tgt_docs}

    def set_density(group: Group, lang: Lang) -> dict[str, float]:
        n = config.docs_per_fact(group, lang)
        return {"docs_per_fact": n, "density": n / n_docs[lang]}

    _dump(files.world, {
        "generator": GENERATOR_VERSION,
        "config": config.model_dump(mode="json"),
        "cultures": [{"name": c, "group": g} for c, g in world.groups.items()],
        "facts": [{"culture": f.culture, "attribute": f.attribute, "value": f.value} for f in world.facts],
        "set_density": {c: {lang: set_density(g, lang) for lang in ("en", "tgt")} for c, g in world.groups.items()},
    })


def write_world(config: WorldConfig, out_dir: str | Path) -> WorldFiles:
    """Build the world and write it to `out_dir`, replacing an earlier world there, never half-written."""
    out = Path(out_dir)
    if out.exists() and not (out / "world.json").is_file() and (out.is_file() or any(out.iterdir())):
        raise UserError(f"{out}: exists and holds no world.json; give a new or empty folder for the world")
    world = build_world(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _write(world, WorldFiles.at(tmp))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return WorldFiles.at(out)


def read_texts(path: str | Path) -> list[str]:
    """The `text` of each line of a corpus file."""
    return [json.loads(line)["text"] for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def read_keys(files: WorldFiles, lang: Lang) -> dict[str, list[dict[str, str]]]:
    """Key terms per culture in one language, the `items` argument of `density_table`."""
    cultures = [c["name"] for c in json.loads(files.world.read_text(encoding="utf-8"))["cultures"]]
    return {c: json.loads(files.probe_file(c, lang, keys=True).read_text(encoding="utf-8")) for c in cultures}
