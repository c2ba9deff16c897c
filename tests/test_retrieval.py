"""Hybrid retrieval on the real shipped index: fusion, filters, the API, and the quality bar."""

import pytest

from eval.dataset import load_questions
from eval.retrieval import AssistantSearcher, evaluate_searcher
from rag import Assistant, Hit, RagError


def test_api_returns_hits_with_metadata(shipped):
    hits = shipped.retrieve("What does batch normalization do?", k=5)
    assert len(hits) == 5 and all(isinstance(h, Hit) for h in hits)
    top = hits[0]
    assert "Batch Normalization" in top.heading or "BATCH NORMALIZATION" in top.heading
    assert "normaliz" in top.text.lower()
    assert top.source in {"ml-fundamentals.md", "ai-applications-summary.txt"}
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert top.chunk_id and top.chunk.line_start <= top.chunk.line_end


def test_fusion_rescues_what_one_retriever_misses(shipped_index):
    """An acronym the embedding model does not know: BM25 finds it, dense does not; fused finds it."""
    question = "What does the DIKW pyramid stand for?"
    runs = {
        fusion: Assistant(notes_dir="notes", index_dir=shipped_index, fusion=fusion).retrieve(question, k=3)
        for fusion in ("dense", "bm25", "weighted", "rrf")
    }
    has = {fusion: any("DIKW" in h.text for h in hits) for fusion, hits in runs.items()}
    assert has["bm25"] and not has["dense"]
    assert has["weighted"]
    rescued = next(h for h in runs["weighted"] if "DIKW" in h.text)
    assert rescued.bm25_rank == 1 and (rescued.dense_rank is None or rescued.dense_rank > 3)


def test_filters_by_source_and_tag(shipped):
    only = shipped.retrieve("batch normalization", k=5, sources=["ai-applications-summary.txt"])
    assert only and {h.source for h in only} == {"ai-applications-summary.txt"}
    tagged = shipped.retrieve("decision trees", k=5, tags=["#bdt"])
    assert tagged and {h.source for h in tagged} == {"ml-fundamentals.md"}
    with pytest.raises(RagError, match="no note has the tag 'no-such-tag'"):  # not an empty result (#22)
        shipped.retrieve("decision trees", k=5, tags=["no-such-tag"])


def test_empty_question_and_k_larger_than_corpus(make_assistant, notes_dir):
    (notes_dir / "a.md").write_text("# Only\nOne small note about convolution kernels.\n")
    a = make_assistant()
    a.ingest()
    with pytest.raises(RagError, match="the text is empty"):  # not an empty result (#22)
        a.retrieve("   ")
    assert len(a.retrieve("kernels", k=50)) == len(a.index.chunks)


@pytest.mark.integration  # a question set scored end to end
def test_hit_at_2000_chars_on_held_out_questions(shipped):
    """The issue's bar is 0.95 on held-back questions; README states what we reach (0.908 on the
    holdout split). This asserts the measured floor so a regression fails, and that hybrid beats both parts."""
    questions = load_questions(split="holdout")
    hybrid = evaluate_searcher("hybrid", AssistantSearcher(shipped), questions)
    dense = evaluate_searcher(
        "dense",
        AssistantSearcher(Assistant(notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, fusion="dense")),
        questions,
    )
    bm25 = evaluate_searcher(
        "bm25",
        AssistantSearcher(Assistant(notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, fusion="bm25")),
        questions,
    )
    assert hybrid.hit_at_2000 >= 0.9, hybrid.misses()
    assert hybrid.hit_at_2000 > dense.hit_at_2000 and hybrid.hit_at_2000 > bm25.hit_at_2000
    assert hybrid.metrics["recall@10"] >= 0.9


def test_keyword_search_reads_words_in_underscore_emphasis(shipped):
    """ml-fundamentals.md writes "_Dropout layers_ are …": the keyword index must read dropout there."""
    from ingest.store import bm25_tokenize

    assert bm25_tokenize(["_Dropout layers_ and n_estimators"])[0] == ["dropout", "layer", "n_estim"]
    hits = shipped.retrieve("dropout layers", k=10)
    emphasised = [h for h in hits if h.source == "ml-fundamentals.md" and "_Dropout layers_" in h.text]
    assert emphasised and emphasised[0].bm25_rank is not None
