"""Prompt building, context fitting, citations, follow-ups and failure paths. The LLM is a scripted
fake here: these tests are about what surrounds it (the real model is in test_llm_integration)."""

from fake_llm import FakeLLM

from ingest.chunking import Chunk
from rag import Assistant
from rag.answer.citations import attribute, check_citations, sources_for
from rag.answer.followup import evidence_query, standalone_query
from rag.answer.prompt import PromptTemplate, chat_template_has_system_role, fit_to_window
from rag.types import Answer, Hit


def hit(n: int, text: str, source: str = "notes.md") -> Hit:
    return Hit(Chunk(f"id{n}", source, "notes", [f"Section {n}"], n, n, text), score=1.0 / n, rank=n)


HITS = [
    hit(1, "Batch normalization normalizes the inputs of each layer to address internal covariate shift."),
    hit(2, "An epoch is one pass over the whole training dataset."),
    hit(3, "Dropout randomly removes neurons during training to prevent overfitting."),
]


def test_template_has_four_parts_and_numbered_blocks():
    t = PromptTemplate.load()
    messages = t.messages("What is an epoch?", HITS, system_role=True)
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert "using only the numbered notes" in system  # role
    assert "End each sentence with the number of the note" in system  # constraints
    assert (
        "<notes>\n[1] notes > Section 1\n" in user and "[2] notes > Section 2\nAn epoch is one pass" in user
    )  # context
    assert user.rstrip().splitlines()[-1] == "Question: What is an epoch?"  # instruction


def test_without_system_role_the_system_text_leads_the_first_user_turn():
    t = PromptTemplate.load()
    history = [
        {"role": "user", "content": "What is dropout?"},
        {"role": "assistant", "content": "It removes neurons [3]."},
    ]
    messages = t.messages("And why?", HITS, system_role=False, history=history)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"].startswith(t.system_text(3))
    assert messages[0]["content"].endswith("What is dropout?")
    assert "Question: And why?" in messages[2]["content"]


def test_braces_in_notes_do_not_break_the_template():
    latex = hit(1, r"Softmax: $S(y)_i = \frac{\exp(y_i)}{\sum_j \exp(y_j)}$ and {placeholder}")
    user = PromptTemplate.load().user_text("softmax?", [latex])
    assert r"\frac{\exp(y_i)}" in user and "{placeholder}" in user


class ChatTemplateTokenizer:
    def __init__(self, raises: bool):
        self.raises = raises

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        if self.raises and messages[0]["role"] == "system":
            raise ValueError("Conversation roles must alternate user/assistant/user/assistant/...")
        return "".join(m["content"] for m in messages)


def test_system_role_detection():
    assert chat_template_has_system_role(ChatTemplateTokenizer(raises=False))
    assert not chat_template_has_system_role(ChatTemplateTokenizer(raises=True))


def test_real_mistral_style_template_has_no_system_role():
    """A Jinja chat template in the Mistral style, rendered by transformers itself."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")))
    tok.chat_template = (
        "{{ bos_token }}{% for message in messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% else %}{{ message['content'] }}{% endif %}{% endfor %}"
    )
    assert not chat_template_has_system_role(tok)
    folded = PromptTemplate.load().messages("q?", HITS, system_role=False)
    tok.apply_chat_template(folded, tokenize=False)  # the folded prompt renders under it


def test_context_is_cut_to_the_window_lowest_rank_first():
    t = PromptTemplate.load()
    count = lambda text: len(text.split())
    full = count(t.system_text(3) + t.user_text("q", HITS))
    kept, _ = fit_to_window(t, "q", HITS, count, window=full + 16 * 2 + 100, reserve_for_answer=100)
    assert kept == HITS
    kept, _ = fit_to_window(t, "q", HITS, count, window=full + 16 * 2 + 100 - 5, reserve_for_answer=100)
    assert kept == HITS[:2]
    history = [{"role": "user", "content": "word " * 50}, {"role": "assistant", "content": "word " * 50}]
    kept, trimmed = fit_to_window(
        t, "q", HITS, count, window=full + 16 * 4 + 100, reserve_for_answer=100, history=history
    )
    assert trimmed == [] and kept == HITS  # old turns go before any block does


def test_citation_checking_removes_unknown_numbers():
    text, valid, invalid = check_citations("Epochs are passes [2]. Dropout helps [3][7]. See [1, 9] and [2-3].", 3)
    assert valid == [2, 3, 1]
    assert invalid == [7, 9]
    assert text == "Epochs are passes [2]. Dropout helps [3]. See [1] and [2][3]."


def test_sources_list_cited_first_then_retrieved():
    sources = sources_for(HITS, [3, 1])
    assert [(s.n, s.cited) for s in sources] == [(3, True), (1, True), (2, False)]
    assert sources[0].source == "notes.md" and sources[0].heading == "notes > Section 3"


def test_attribution_cites_supported_sentences_only():
    text, added = attribute(
        "Dropout removes neurons during training to prevent overfitting. The moon is made of cheese.", HITS
    )
    assert added == [3]
    assert text == "Dropout removes neurons during training to prevent overfitting [3]. The moon is made of cheese."


def test_follow_up_questions_become_standalone():
    first = [{"role": "user", "content": "What does batch normalization do?"}]
    assert standalone_query(first) == "What does batch normalization do?"
    follow = first + [
        {"role": "assistant", "content": "It normalizes."},
        {"role": "user", "content": "Why does it help training?"},
    ]
    assert standalone_query(follow) == "What does batch normalization do? Why does it help training?"
    # the answer's sentences are chosen for the follow-up itself, its pronoun standing for the topic
    assert evidence_query(follow) == "Why does batch normalization help training?"
    assert evidence_query(first) == "What does batch normalization do?"
    fresh = follow + [
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "Explain the Gini index for decision tree splits"},
    ]
    assert standalone_query(fresh) == "Explain the Gini index for decision tree splits"


def test_chat_uses_the_rewritten_query_for_retrieval(shipped):
    with FakeLLM("Batch normalization normalizes layer inputs [1].") as llm:
        a = Assistant(
            notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, llm_base_url=llm.base_url, llm_autostart=False
        )
        answer = a.chat(
            [
                {"role": "user", "content": "What does batch normalization do?"},
                {"role": "assistant", "content": "It normalizes layer inputs."},
                {"role": "user", "content": "And why does it help?"},
            ]
        )
    assert "normaliz" in answer.sources[0].text.lower()
    sent = llm.requests[0]["messages"]
    assert sent[-1]["content"].rstrip().splitlines()[-1] == "Question: And why does it help?"
    assert any(m["role"] == "assistant" for m in sent)  # the history went to the model


def test_streamed_answer_with_fake_llm_checks_citations(shipped):
    # raw mode: only the citation numbers are checked (verified mode is in test_verified_answers)
    with FakeLLM("Batch normalization normalizes the inputs of each layer [1]. It also cures cancer [9].") as llm:
        a = Assistant(
            notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, llm_base_url=llm.base_url, llm_autostart=False
        )
        stream = a.stream("What does batch normalization do?", k=4, mode="raw")
        text = list(stream)
    answer = stream.answer
    assert all(isinstance(p, str) for p in text) and len(text) > 5
    assert isinstance(answer, Answer)
    assert answer.invalid_citations == [9] and "[9]" not in answer.text
    assert answer.sources[0].cited and answer.sources[0].n == 1
    assert set(answer.timings) >= {"retrieve", "first_token", "total"}
    assert llm.requests[0]["stream"] is True


def test_closed_book_asks_the_llm_without_any_notes(shipped):
    # the baseline `rag eval answers` compares with: what the model says when retrieval gives it nothing
    with FakeLLM("Batch normalization is a kind of regularisation [1].") as llm:
        a = Assistant(
            notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, llm_base_url=llm.base_url, llm_autostart=False
        )
        answer = a.ask("What does batch normalization do?", mode="closed-book")
        with_notes = a.ask("What does batch normalization do?", mode="raw")
    assert answer.llm_used and answer.sources == [] and answer.invalid_citations == [1]
    sent = llm.requests[0]["messages"][-1]["content"]
    assert "normaliz" not in sent.lower().replace("batch normalization do?", "")  # no passage went with it
    assert with_notes.sources and "normaliz" in llm.requests[1]["messages"][-1]["content"].lower().split("question:")[0]


def test_llm_down_returns_passages_and_a_reason(shipped):
    answer = shipped.ask("What does batch normalization do?")
    assert not answer.llm_used
    assert "no LLM server answers" in answer.error and "rag serve" in answer.error
    assert answer.sources and "[1]" in answer.text


def test_server_dying_mid_answer_keeps_partial_text(shipped):
    with FakeLLM("Batch normalization normalizes the inputs of each layer and more words here", die_after=4) as llm:
        a = Assistant(
            notes_dir=shipped.notes_dir, index_dir=shipped.index_dir, llm_base_url=llm.base_url, llm_autostart=False
        )
        answer = a.ask("What does batch normalization do?", mode="raw")
        checked = a.ask("What does batch normalization do?")
    assert answer.llm_used
    assert answer.text.startswith("Batch normalization normalizes")
    assert "and more words" not in answer.text
    assert answer.error and "mid-answer" in answer.error
    # verified: a fragment cannot be checked, so the user gets the notes' own sentences and the reason
    assert checked.error and "mid-answer" in checked.error and checked.mode == "extractive"
    assert checked.mode == "extractive" and "and more words" not in checked.text
