"""Reuters-21578: the SGML stories, the ModApte split and word-stem counts.

The collection is 22 files ``reut2-000.sgm`` ... ``reut2-021.sgm`` of SGML
(not XML: no root element, bare ``&`` in the text, character references
such as ``&#3;`` for control characters) in an 8-bit encoding (one byte
0xFC in reut2-017.sgm is not valid UTF-8). The files are read as latin-1,
which maps every byte to a character and so never fails, and each story is
cut out of its ``<REUTERS>`` element with regular expressions.

A story keeps its NEWID, its TOPICS and LEWISSPLIT attributes, the topic
codes inside ``<TOPICS>`` (never those of ``<PLACES>`` or the other
category fields), its title and its body.

Preparing the stories:

- the ModApte split: training stories have LEWISSPLIT="TRAIN" and
  TOPICS="YES", test stories LEWISSPLIT="TEST" and TOPICS="YES" (9,603 and
  3,299 in the whole collection);
- a story's text is its title and body, lower-cased and cut into runs of
  letters; scikit-learn's English stop words, words of one letter and the
  agency's sign-off "Reuter" are dropped, and the rest stemmed with the
  Snowball English stemmer (PyStemmer);
- the vocabulary is the ``vocabulary_size`` commonest stems of the training
  stories (ties broken alphabetically), and each story becomes its vector
  of counts over it, kept sparse;
- the class of a story, for plots and retrieval, is its topic when it has
  exactly one of the ``n_topics`` topics that most training stories carry,
  and none (-1) otherwise.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from aelab.errors import AelabError
from aelab.fileio import atomic_output, write_json, write_npz

log = logging.getLogger(__name__)

ARCHIVE_NAME = "reuters21578.tar.gz"
ARCHIVE_MEMBERS = "*.sgm"
SPLITS = ("train", "test")
NO_CLASS = -1

_STORY = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.DOTALL)
_ATTRIBUTE = re.compile(r'([A-Z]+)="([^"]*)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.DOTALL)
_CODE = re.compile(r"<D>(.*?)</D>", re.DOTALL)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
# Only the references the collection uses are decoded; anything else that
# starts with '&' (e.g. "AT&T", "S&P") is text and stays as it is.
_REFERENCE = re.compile(r"&(#[0-9]+|lt|gt|amp|quot);")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Story:
    """One ``<REUTERS>`` element: its identity, split, topics and text."""

    newid: int
    topics_attribute: str
    lewis_split: str
    topics: tuple[str, ...]
    title: str
    body: str | None


# --- parse ---------------------------------------------------------------


def parse_sgml(text: str, source: str = "<text>") -> list[Story]:
    """The stories in the text of one ``.sgm`` file.

    Raises
    ------
    AelabError
        If a story has no NEWID attribute, or one that is not a number.
    """
    stories = []
    for match in _STORY.finditer(text):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        content = match.group(2)
        try:
            newid = int(attributes["NEWID"])
        except (KeyError, ValueError):
            raise AelabError(
                f"{source}: a <REUTERS> element without a numeric NEWID "
                f"(attributes: {match.group(1).strip()!r}). The file is not "
                "part of Reuters-21578 as distributed; fetch it again."
            ) from None
        topics = _TOPICS.search(content)
        codes = _CODE.findall(topics.group(1)) if topics else []
        title = _TITLE.search(content)
        body = _BODY.search(content)
        stories.append(
            Story(
                newid=newid,
                topics_attribute=attributes.get("TOPICS", ""),
                lewis_split=attributes.get("LEWISSPLIT", ""),
                topics=tuple(_clean(code).strip() for code in codes),
                title=_clean(title.group(1)).strip() if title else "",
                body=_clean(body.group(1)) if body else None,
            )
        )
    return stories


def _clean(text: str) -> str:
    """Decode character references and drop the control characters."""
    return _CONTROL.sub("", _REFERENCE.sub(_decode_reference, text))


def _decode_reference(match: re.Match) -> str:
    name = match.group(1)
    if name.startswith("#"):
        return chr(int(name[1:]))
    return html.unescape(f"&{name};")


def read_sgml_files(source: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """(name, text) of every ``.sgm`` file in a folder or a (gzipped) tarball.

    Bytes are decoded as latin-1, so that no byte can stop the reading.
    """
    source = Path(source)
    if source.is_dir():
        for path in sorted(source.glob(ARCHIVE_MEMBERS)):
            yield path.name, path.read_bytes().decode("latin-1")
        return
    try:
        with tarfile.open(source, "r:*") as archive:
            members = sorted(
                (m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name
            )
            for member in members:
                if Path(member.name).match(ARCHIVE_MEMBERS):
                    data = archive.extractfile(member).read()
                    yield member.name, data.decode("latin-1")
    except FileNotFoundError:
        raise AelabError(
            f"{source}: no such folder or archive. Run the fetch step first, or "
            "give the folder that holds the reut2-*.sgm files."
        ) from None
    except (tarfile.TarError, EOFError, OSError) as err:
        raise AelabError(
            f"{source}: not a readable tar archive ({err}). Delete it and run "
            "the fetch step again, or give a folder of .sgm files."
        ) from None


def parse_collection(source: str | os.PathLike) -> list[Story]:
    """Every story of a folder or archive of ``.sgm`` files, in file order.

    Raises
    ------
    AelabError
        If no story is found, naming the folder or archive.
    """
    stories: list[Story] = []
    n_files = 0
    for name, text in read_sgml_files(source):
        n_files += 1
        stories += parse_sgml(text, source=f"{source}/{name}")
    if not stories:
        found = (
            "no .sgm files" if n_files == 0 else f"{n_files} .sgm files without stories"
        )
        raise AelabError(
            f"{source}: zero Reuters documents parsed ({found}). Point the parse "
            "step at the folder or the reuters21578.tar.gz that holds "
            "reut2-000.sgm ... reut2-021.sgm."
        )
    return stories


def parse_counts(stories: Iterable[Story]) -> dict[str, Any]:
    """Documents parsed, how many have no body, and how many per split."""
    stories = list(stories)
    per_split = Counter(story.lewis_split for story in stories)
    return {
        "documents": len(stories),
        "without_body": sum(story.body is None for story in stories),
        "per_lewis_split": dict(sorted(per_split.items())),
        "modapte": {
            split: sum(_in_modapte(story, split) for story in stories)
            for split in SPLITS
        },
    }


def write_parsed(
    stories: list[Story], out_path: str | os.PathLike, counts_path: str | os.PathLike
) -> dict[str, Any]:
    """Write the stories as JSON lines and their counts as JSON."""
    with atomic_output(out_path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for story in stories:
            record = {
                "newid": story.newid,
                "topics_attribute": story.topics_attribute,
                "lewis_split": story.lewis_split,
                "topics": list(story.topics),
                "title": story.title,
                "body": story.body,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts = parse_counts(stories)
    write_json(counts_path, counts)
    log.info(
        "%s: %d documents parsed, %d with no body; per LEWISSPLIT: %s",
        out_path,
        counts["documents"],
        counts["without_body"],
        ", ".join(f"{k or '(none)'} {v}" for k, v in counts["per_lewis_split"].items()),
    )
    return counts


def read_parsed(path: str | os.PathLike) -> list[Story]:
    """The stories written by :func:`write_parsed`."""
    path = Path(path)
    stories = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                    record["topics"] = tuple(record["topics"])
                    stories.append(Story(**record))
                except (ValueError, TypeError, KeyError) as err:
                    raise AelabError(
                        f"{path}, line {number}: not a parsed story ({err}). "
                        "Delete the file and run the parse step again."
                    ) from None
    except FileNotFoundError:
        raise AelabError(
            f"{path}: parsed stories not found. Run the parse step first."
        ) from None
    return stories


# --- prepare -------------------------------------------------------------


def _in_modapte(story: Story, split: str) -> bool:
    return story.topics_attribute == "YES" and story.lewis_split == split.upper()


class Tokenizer:
    """Lower-case, letters only, stop words out, Snowball English stems."""

    def __init__(self) -> None:
        import Stemmer
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self._stemmer = Stemmer.Stemmer("english")
        # "Reuter" closes nearly every story: it says nothing of the topic.
        self._stop = frozenset(ENGLISH_STOP_WORDS) | {"reuter", "reuters"}
        self._stems: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        words = [
            word
            for word in _WORD.findall(text.lower())
            if len(word) > 1 and word not in self._stop
        ]
        unknown = [word for word in set(words) if word not in self._stems]
        if unknown:
            self._stems.update(
                zip(unknown, self._stemmer.stemWords(unknown), strict=True)
            )
        return [self._stems[word] for word in words]


def story_text(story: Story) -> str:
    """The words a story is represented by: its title, then its body."""
    return f"{story.title}\n{story.body or ''}"


def top_topics(stories: Iterable[Story], n_topics: int) -> list[str]:
    """The ``n_topics`` topics carried by the most stories (ties alphabetical)."""
    counts = Counter(topic for story in stories for topic in set(story.topics))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [topic for topic, _ in ranked[:n_topics]]


def story_class(story: Story, classes: list[str]) -> int:
    """Index in ``classes`` of the story's only topic among them, else -1."""
    mine = [classes.index(topic) for topic in set(story.topics) if topic in classes]
    return mine[0] if len(mine) == 1 else NO_CLASS


def prepare(
    parsed_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    vocabulary_size: int,
    n_topics: int,
    expected_sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write ``train.npz``, ``test.npz`` and ``summary.json`` into ``out_dir``.

    Each npz holds a story's word counts as a CSR matrix (``data``,
    ``indices``, ``indptr``, ``shape``), its class (``labels``), NEWID and
    topics, with the ``vocabulary`` and the ``class_names``.

    Raises
    ------
    AelabError
        If a split is empty, or its size differs from ``expected_sizes``.
    """
    stories = read_parsed(parsed_path)
    splits = {s: [t for t in stories if _in_modapte(t, s)] for s in SPLITS}
    for split, chosen in splits.items():
        expected = (expected_sizes or {}).get(split)
        if not chosen or (expected is not None and len(chosen) != expected):
            wanted = f"{expected:,}" if expected is not None else "some"
            raise AelabError(
                f"{parsed_path}: {len(chosen):,} ModApte {split} stories "
                f"(LEWISSPLIT={split.upper()}, TOPICS=YES), expected {wanted}. "
                "Check that the parse step read the whole collection, or set "
                "data.reuters.expected_split_sizes to null for another one."
            )

    tokenize = Tokenizer()
    tokens = {s: [tokenize(story_text(t)) for t in splits[s]] for s in SPLITS}
    totals = Counter(stem for words in tokens["train"] for stem in words)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    vocabulary = [stem for stem, _ in ranked[:vocabulary_size]]
    classes = top_topics(splits["train"], n_topics)

    summary: dict[str, Any] = {
        "vocabulary_size": len(vocabulary),
        "class_names": classes,
    }
    for split in SPLITS:
        counts = count_matrix(tokens[split], vocabulary)
        labels = np.array(
            [story_class(t, classes) for t in splits[split]], dtype=np.int16
        )
        write_npz(
            Path(out_dir) / f"{split}.npz",
            data=counts.data,
            indices=counts.indices,
            indptr=counts.indptr,
            shape=np.array(counts.shape),
            labels=labels,
            newid=np.array([t.newid for t in splits[split]], dtype=np.int32),
            topics=np.array([" ".join(t.topics) for t in splits[split]]),
            vocabulary=np.array(vocabulary),
            class_names=np.array(classes),
        )
        per_class = {name: int((labels == i).sum()) for i, name in enumerate(classes)}
        summary[split] = {
            "stories": len(labels),
            "with_a_class": int((labels != NO_CLASS).sum()),
            "without_vocabulary_words": int((counts.getnnz(axis=1) == 0).sum()),
            "per_class": per_class,
        }
        log.info(
            "ModApte %s: %d stories, %d of them with exactly one of the %d "
            "commonest topics (%s), %d with no word of the vocabulary",
            split,
            len(labels),
            summary[split]["with_a_class"],
            len(classes),
            ", ".join(f"{k} {v}" for k, v in per_class.items()),
            summary[split]["without_vocabulary_words"],
        )
    write_json(Path(out_dir) / "summary.json", summary)
    return summary


def count_matrix(
    documents: list[list[str]], vocabulary: list[str]
) -> sparse.csr_matrix:
    """Counts of shape (n_documents, len(vocabulary)), float32, CSR."""
    column = {stem: j for j, stem in enumerate(vocabulary)}
    rows, cols = [], []
    for i, words in enumerate(documents):
        hits = [column[w] for w in words if w in column]
        rows += [i] * len(hits)
        cols += hits
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(documents), len(vocabulary)),
    )
    counts.sum_duplicates()
    return counts


# --- load ----------------------------------------------------------------


@dataclass
class Documents:
    """A prepared split: sparse counts, classes and what names them."""

    counts: sparse.csr_matrix  # (n_documents, vocabulary_size), float32
    labels: np.ndarray  # (n_documents,), class index or -1
    newid: np.ndarray
    topics: np.ndarray
    vocabulary: np.ndarray
    class_names: np.ndarray


def load_documents(path: str | os.PathLike) -> Documents:
    """Read a split written by :func:`prepare`."""
    path = Path(path)
    try:
        with np.load(path) as data:
            counts = sparse.csr_matrix(
                (data["data"], data["indices"], data["indptr"]),
                shape=tuple(data["shape"]),
            )
            return Documents(
                counts,
                data["labels"],
                data["newid"],
                data["topics"],
                data["vocabulary"],
                data["class_names"],
            )
    except FileNotFoundError:
        raise AelabError(
            f"{path}: prepared Reuters documents not found. Run the "
            "prepare-reuters step first."
        ) from None
    except (OSError, ValueError, KeyError) as err:
        raise AelabError(
            f"{path}: not a prepared Reuters split ({err}). Delete it and run "
            "the prepare-reuters step again."
        ) from None


def word_probabilities(counts: sparse.csr_matrix) -> np.ndarray:
    """Dense float32 counts divided by each document's length (0 if empty)."""
    lengths = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    scale = sparse.diags(
        np.divide(1.0, lengths, where=lengths > 0, out=np.zeros_like(lengths))
    )
    return (scale @ counts).toarray().astype(np.float32)


def model_inputs(counts: sparse.csr_matrix, kind: str) -> Any:
    """What a model of ``kind`` reads: counts for LSA, else word probabilities."""
    if kind == "lsa":
        return counts
    return word_probabilities(counts)
