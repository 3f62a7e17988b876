"""Reuters-21578: the SGML parser, the ModApte preparation, LSA, retrieval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aelab.data import download, reuters
from aelab.errors import AelabError
from aelab.evaluate.retrieval import fraction_same_class
from aelab.models import lsa
from aelab.models.autoencoder import Autoencoder
from conftest import (
    reuters_sgm_files,
    reuters_story,
    write_reuters_archive,
)


def write_sgm(folder, name, text, encoding="latin-1"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def test_stray_byte_references_and_bare_ampersands(tmp_path):
    body = "Lawson said growth.\xfc&#5;&#30;AT&T and S&P rose &lt;ATT&gt; 5 &amp; 6"
    write_sgm(tmp_path, "reut2-000.sgm", reuters_story(7, "TRAIN", ["acq"], body))
    raw = (tmp_path / "reut2-000.sgm").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really holds a non-UTF-8 byte

    (story,) = reuters.parse_collection(tmp_path)
    # 0xFC read as latin-1; &#5; &#30; &#3; decoded and dropped as control
    # characters; the bare ampersands stay; &lt; &gt; &amp; decoded.
    assert story.body == (
        "Lawson said growth.\xfcAT&T and S&P rose <ATT> 5 & 6\n Reuter\n"
    )
    assert story.newid == 7 and story.topics == ("acq",)
    assert story.lewis_split == "TRAIN" and story.topics_attribute == "YES"


def test_topics_come_only_from_the_topics_field(tmp_path):
    text = reuters_story(1, "TEST", [], "no topic here")
    assert "<TOPICS></TOPICS>" in text and "<PLACES><D>usa</D></PLACES>" in text
    text += reuters_story(2, "TEST", ["grain", "wheat"], "two topics")
    write_sgm(tmp_path, "reut2-003.sgm", text)
    first, second = reuters.parse_collection(tmp_path)
    assert first.topics == ()
    assert second.topics == ("grain", "wheat")


def test_a_story_without_body_is_kept_and_counted(tmp_path):
    text = reuters_story(1, "TRAIN", ["earn"], None, title="SHORT &#3;NEWS")
    text += reuters_story(2, "TEST", ["earn"], "profit rose")
    text += reuters_story(3, "NOT-USED", [], "nothing", "NO")
    write_sgm(tmp_path, "reut2-000.sgm", text)
    stories = reuters.parse_collection(tmp_path)
    assert stories[0].body is None and stories[0].title == "SHORT NEWS"
    counts = reuters.parse_counts(stories)
    assert counts == {
        "documents": 3,
        "without_body": 1,
        "per_lewis_split": {"NOT-USED": 1, "TEST": 1, "TRAIN": 1},
        "modapte": {"train": 1, "test": 1},
    }


def test_a_folder_without_sgm_files_is_an_error_naming_it(tmp_path):
    (tmp_path / "README.txt").write_text("not a story")
    with pytest.raises(AelabError) as caught:
        reuters.parse_collection(tmp_path)
    assert str(caught.value).startswith(
        f"{tmp_path}: zero Reuters documents parsed (no .sgm files)."
    )


def test_sgm_files_without_stories_are_an_error(tmp_path):
    write_sgm(tmp_path, "reut2-000.sgm", '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n')
    with pytest.raises(AelabError, match=r"zero Reuters documents parsed \(1 .sgm"):
        reuters.parse_collection(tmp_path)


def test_archive_and_folder_give_the_same_stories_and_split_counts(tmp_path):
    archive, _ = write_reuters_archive(tmp_path / "mirror")
    folder = tmp_path / "sgm"
    for name, data in reuters_sgm_files().items():
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
    from_archive = reuters.parse_collection(archive)
    assert from_archive == reuters.parse_collection(folder)
    counts = reuters.parse_counts(from_archive)
    # 48 + 24 ModApte stories, one TOPICS="NO" story, one of two topics.
    assert counts["documents"] == 74
    assert counts["per_lewis_split"] == {"TEST": 25, "TRAIN": 49}
    assert counts["modapte"] == {"train": 48, "test": 25}


@pytest.fixture
def prepared(tmp_path):
    archive, _ = write_reuters_archive(tmp_path / "mirror")
    stories = reuters.parse_collection(archive)
    reuters.write_parsed(stories, tmp_path / "stories.jsonl", tmp_path / "c.json")
    summary = reuters.prepare(
        tmp_path / "stories.jsonl",
        tmp_path / "prepared",
        vocabulary_size=20,
        n_topics=3,
        expected_sizes={"train": 48, "test": 25},
    )
    return tmp_path, summary


def test_prepare_splits_counts_and_classes(prepared):
    folder, summary = prepared
    # Topics by training stories: each of the four on 12; ties alphabetical.
    assert summary["class_names"] == ["acq", "crude", "earn"]
    assert summary["train"]["stories"] == 48
    assert summary["train"]["per_class"] == {"acq": 12, "crude": 12, "earn": 12}
    assert summary["test"]["stories"] == 25
    # The story of topics earn and acq has two of the classes: no class.
    assert summary["test"]["with_a_class"] == 18

    train = reuters.load_documents(folder / "prepared/train.npz")
    assert train.counts.shape == (48, 20)
    assert list(train.class_names) == ["acq", "crude", "earn"]
    vocabulary = list(train.vocabulary)
    # Stems, not words; the sign-off "Reuter" is dropped; titles count.
    assert "compani" in vocabulary and "company" not in vocabulary
    assert "reuter" not in vocabulary and "earn" in vocabulary
    # "at" is a stop word and "t" a single letter.
    tokens = reuters.Tokenizer()("The company's 2 SHARES, of AT&T - Reuter")
    assert tokens == ["compani", "share"]
    # Each story's counts are those of its stems in the vocabulary.
    stories = reuters.read_parsed(folder / "stories.jsonl")
    first = next(s for s in stories if s.newid == train.newid[0])
    stems = reuters.Tokenizer()(reuters.story_text(first))
    expected = [stems.count(word) for word in vocabulary]
    np.testing.assert_array_equal(train.counts[0].toarray().ravel(), expected)
    classes = ["acq", "crude", "earn"]
    wanted = [classes.index(t) if t in classes else -1 for t in train.topics]
    np.testing.assert_array_equal(train.labels, wanted)


def test_prepare_checks_the_split_sizes(prepared):
    folder, _ = prepared
    with pytest.raises(AelabError) as caught:
        reuters.prepare(
            folder / "stories.jsonl",
            folder / "again",
            20,
            3,
            expected_sizes={"train": 9603, "test": 3299},
        )
    assert str(caught.value) == (
        f"{folder / 'stories.jsonl'}: 48 ModApte train stories "
        "(LEWISSPLIT=TRAIN, TOPICS=YES), expected 9,603. Check that the parse "
        "step read the whole collection, or set data.reuters.expected_split_sizes "
        "to null for another one."
    )


def brute_force_fraction(codes, labels, k):
    """The retrieval measure one query at a time, with plain Python."""
    total = 0.0
    for i in range(len(codes)):
        scored = []
        for j in range(len(codes)):
            if j != i:
                a, b = codes[i], codes[j]
                cosine = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
                scored.append((-cosine, j))
        nearest = [j for _, j in sorted(scored)[:k]]
        total += sum(labels[j] == labels[i] for j in nearest) / k
    return total / len(codes)


def test_retrieval_measure_matches_brute_force_on_random_codes():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 3))
    labels = rng.integers(0, 4, size=60)
    retrieved = [1, 3, 7, 15, 31, 59]
    # Small chunks, so that the chunked ranking is exercised.
    fractions = fraction_same_class(codes, labels, retrieved, chunk=7)
    expected = [brute_force_fraction(codes, labels, k) for k in retrieved]
    np.testing.assert_allclose(fractions, expected, rtol=0, atol=1e-12)
    # Retrieving everything gives each class's share among the others.
    same = [(labels == labels[i]).sum() - 1 for i in range(60)]
    assert fractions[-1] == pytest.approx(np.mean(same) / 59, abs=1e-12)


def test_retrieval_refuses_more_than_there_is():
    with pytest.raises(AelabError, match="cannot retrieve 10 documents per query"):
        fraction_same_class(np.ones((5, 2)), np.zeros(5), [1, 10])


def test_lsa_codes_match_a_numpy_svd():
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.7, size=(40, 15)).astype(np.float32)
    from scipy import sparse

    codec = lsa.fit(sparse.csr_matrix(counts), 4, seed=0)
    codes = codec.encode(torch.from_numpy(counts)).numpy()
    _, _, vt = np.linalg.svd(np.log1p(counts.astype(np.float64)))
    expected = np.log1p(counts) @ vt[:4].T
    # Singular vectors are defined up to sign: compare column by column.
    signs = np.sign((codes * expected).sum(axis=0))
    np.testing.assert_allclose(codes, expected * signs, atol=1e-8)


def test_softmax_cross_entropy_matches_numpy():
    torch.manual_seed(0)
    model = Autoencoder(6, [5], 2, output_activation="softmax").double()
    x = torch.rand(4, 6, dtype=torch.float64)
    x = x / x.sum(dim=1, keepdim=True)  # word probabilities
    loss = model.loss(x, "softmax_cross_entropy")
    with torch.no_grad():
        logits = model.decoder(model.encode(x)).numpy()
    log_q = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -(x.numpy() * log_q).sum(axis=1).mean()
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    outputs = model(x)
    np.testing.assert_allclose(outputs.sum(dim=1).detach().numpy(), 1.0, atol=1e-12)


def test_archive_hash_covers_the_sgm_files_only(tmp_path):
    archive, expected = write_reuters_archive(tmp_path)
    assert download.content_sha256(archive, "*.sgm") == expected

    # The same .sgm files beside a README, packed another way: same content.
    import tarfile

    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        (tmp_path / "README.txt").write_text("readme")
        tar.add(tmp_path / "README.txt", arcname="README.txt")
        for name, data in reuters_sgm_files().items():
            (tmp_path / name).write_bytes(data)
            tar.add(tmp_path / name, arcname=name)
    assert download.content_sha256(other, "*.sgm") == expected

    # One byte changed in one story: another hash.
    (tmp_path / "reut2-001.sgm").write_bytes(
        reuters_sgm_files()["reut2-001.sgm"].replace(b"oil", b"oik", 1)
    )
    changed = tmp_path / "changed.tar"
    with tarfile.open(changed, "w") as tar:
        for name in ("reut2-000.sgm", "reut2-001.sgm"):
            tar.add(tmp_path / name, arcname=name)
    assert download.content_sha256(changed, "*.sgm") != expected


def test_fetch_takes_the_archive_from_the_offline_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    _, sha = write_reuters_archive(mirror / "reuters21578")
    remote = download.RemoteFile(reuters.ARCHIVE_NAME, sha, members="*.sgm")
    path = download.fetch(remote, tmp_path / "raw", [], mirror, "reuters21578")
    assert path == tmp_path / "raw" / reuters.ARCHIVE_NAME
    assert len(reuters.parse_collection(path)) == 74

    wrong = download.RemoteFile(reuters.ARCHIVE_NAME, "0" * 64, members="*.sgm")
    with pytest.raises(AelabError, match="wrong content"):
        download.fetch(wrong, tmp_path / "raw2", [], mirror, "reuters21578")
    assert not (tmp_path / "raw2" / reuters.ARCHIVE_NAME).exists()
