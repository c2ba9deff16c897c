"""The Gradio app: chat, mock interview, progress, library and evaluation, all through the `Assistant` API."""

from __future__ import annotations

import tempfile
import threading
from html import escape
from pathlib import Path

import gradio as gr

from rag import (
    DIFFICULTIES,
    LOOPBACK,
    MARKS,
    MODES,
    Answer,
    Assistant,
    BadRequest,
    IndexProblem,
    InterviewError,
    RagError,
    UnsafeBinding,
    check_binding,
    how_made,
    plain_messages,
)
from ui.interview_view import ended, feedback_history, question_html, to_mark, transcript_file
from ui.progress_view import history_panel, progress_tab
from ui.related_view import related_card
from ui.render import CSS, LATEX_DELIMITERS, chat_text, feedback_card, hit_cards, note_view, source_cards
from ui.uploads import ALLOWED, UPLOAD_TRANSPORT_FACTOR, UploadRefused, save_upload

LOADING = "⏳ Loading the index and the models…"
# the model's words stream in before every sentence has been checked; the checked answer may differ
DRAFT = "\n\n*Draft — being checked against your notes…*"
# WCAG AA asks 4.5:1 for text: Gradio's orange-500 under white text, and as the selected tab's text, is
# 2.8:1, its neutral-400 help text and placeholders 1.9:1; orange-700 is 5.2:1 and neutral-500 4.8:1
THEME = gr.themes.Default().set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    color_accent="*primary_700",
    input_placeholder_color="*neutral_500",
    block_info_text_color="*neutral_500",
)
# A card's file name is a file:// link, which browsers do not follow from a web page: a click on one
# opens the note in the app instead (obsidian:// links open Obsidian and are left alone).
OPEN_NOTE_JS = """
element.addEventListener('click', (event) => {
    const link = event.target.closest('a.note-link');
    if (!link || !link.href.startsWith('file:')) return;
    event.preventDefault();
    trigger('click', {note: link.dataset.note, line: link.dataset.line, end: link.dataset.end});
});
"""
SHOW_PASSAGE_JS = """
const show = () => element.querySelector('.here')?.scrollIntoView({block: 'center'});
show();
watch('value', show);
"""
# the library's results start below the fold (at 900 px they did): after a search the page scrolls the
# search row to the top, the results under it, or a search seemed to do nothing
SHOW_RESULTS_JS = "() => document.querySelector('#lib-search-row').scrollIntoView({block: 'start'})"
# Ctrl+Enter (Cmd+Enter) submits an interview answer: Enter is a new line in a long answer
SUBMIT_KEYS_JS = """() => {
    document.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && event.target.closest('#iv-answer')) {
            event.preventDefault();
            document.querySelector('#iv-submit').click();
        }
    });
}"""


def login(host: str, auth: str | None) -> tuple[str, str] | None:
    """The app's login from `user:password`; off loopback there must be one (UnsafeBinding)."""
    check_binding(
        host, auth, "show your notes to the network without a login", "set --auth user:password (or RAG_UI_AUTH)"
    )
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not (sep and user and password):
        raise UnsafeBinding("ui_auth must look like user:password")
    return user, password


class App:
    def __init__(self, assistant: Assistant, endpoint_editable: bool = False):
        """`endpoint_editable`: the chat settings may point the server at another model URL. That makes
        the server fetch whatever URL a browser user types, so only for a user who is on this machine
        (loopback) or has logged in; otherwise the configured endpoint is used whatever is sent."""
        self.base = assistant
        self.endpoint_editable = endpoint_editable
        self._variants: dict[tuple[str, float], Assistant] = {}
        self._lock = threading.Lock()
        # the models load in the background from the start, so the first question is as fast as the next
        self._ready = threading.Event()
        self._load_error = ""
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.base.warm_up()
        except Exception as e:  # shown on the page; a question then says what is wrong in its own words
            self._load_error = str(e)
        finally:
            self._ready.set()

    def loading(self):
        """The page's loading line: shown while the models load, gone once they are ready."""
        if not self._ready.is_set():
            yield gr.update(value=LOADING, visible=True)
            self._ready.wait()
        failed = f"Could not load everything: {escape(self._load_error)}" if self._load_error else ""
        yield gr.update(value=failed, visible=bool(failed))

    def assistant_for(self, endpoint: str, temperature: float) -> Assistant:
        """The chat tab's endpoint and temperature, each pair with its own Assistant (and LLM client)."""
        s = self.base.settings
        key = ((endpoint.strip() if self.endpoint_editable else "") or s.llm_base_url, float(temperature))
        if key == (s.llm_base_url, s.llm_temperature):
            return self.base
        with self._lock:
            if key not in self._variants:
                self._variants[key] = Assistant(settings=s, llm_base_url=key[0], llm_temperature=key[1])
            return self._variants[key]

    # ---- chat ----------------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        history: list[dict],
        k: int,
        endpoint: str,
        temperature: float,
        place: str = "",
        tag: str = "",
    ):
        """Yields (chat, cards, notice) as the answer streams; `place` (a note or folder) and `tag`, when
        chosen, limit the notes it draws on."""
        for chat, cards, notice, _ in self._turn(message, history, k, endpoint, temperature, place, tag):
            yield chat, cards, notice

    def _turn(self, message: str, history: list[dict], k: int, endpoint: str, temperature: float, place: str, tag: str):
        """`respond`'s steps, each with the checked Answer once there is one (None until then)."""
        message = (message or "").strip()
        if not message:
            yield history, gr.skip(), gr.skip(), None
            return
        a = self.assistant_for(endpoint, temperature)
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        notice = ""
        if a.settings.llm_autostart and not a.llm.is_up():
            notice = "Starting the local model (about a minute on a CPU); it stays up for the next question."
        yield history, "", notice, None
        text = ""
        try:
            updated = a.ensure_index()  # notes edited since the last ingest are answered from
            a.index  # noqa: B018 - a missing or damaged index is said here, not as a stack trace
        except IndexProblem as e:
            history[-1] = {"role": "assistant", "content": "No index to answer from yet."}
            yield history, "", f"**{escape(str(e))}** — open the Library tab and press *Ingest*.", None
            return
        if updated is not None and updated.changed:
            yield history, gr.skip(), f"Index updated first: {updated.summary()}", None
        scope = {"sources": [place] if place else None, "tags": [tag] if tag else None}
        stream = a.stream_chat([{"role": m["role"], "content": m["content"]} for m in history[:-1]], k=int(k), **scope)
        try:
            for piece in stream:
                text += piece
                history[-1] = {"role": "assistant", "content": chat_text(text) + DRAFT}
                yield history, gr.skip(), gr.skip(), None
            answer = stream.answer
        except BadRequest as e:  # a note or tag chosen before it was renamed or deleted
            history[-1] = {"role": "assistant", "content": "Not asked: the scope names nothing now."}
            yield history, "", f"**{escape(str(e))}**", None
            return
        history[-1] = {"role": "assistant", "content": chat_text(answer.text)}
        yield history, source_cards(answer.sources), self._notice(answer), answer

    def chat_turn(
        self, message: str, history: list[dict], k: int, endpoint: str, temperature: float, place: str, tag: str
    ):
        """`respond` for the page, which also gets (question box, Ask, related notes): the question leaves
        the box as it is taken and Ask is off until the answer has been checked (it comes back on in the
        next step). What is typed meanwhile stays in the box; a question sent meanwhile is asked next (the
        event's trigger_mode), instead of being dropped."""
        taken = ""
        for chat, cards, notice, answer in self._turn(message, history, k, endpoint, temperature, place, tag):
            related = self.related_panel(answer) if answer is not None else gr.skip()
            yield chat, cards, notice, taken, gr.update(interactive=not (message or "").strip()), related
            taken = gr.skip()

    def related_panel(self, answer: Answer) -> str:
        """The notes related to the note the answer cites first (or its first source)."""
        shown = [s.source for s in answer.sources if s.cited] or [s.source for s in answer.sources]
        if not shown:
            return ""
        try:
            return related_card(self.base.related(shown[0]))
        except RagError as e:
            return f"<p>{escape(str(e))}</p>"

    def scope_choices(self):
        """(note or folder, tag) pickers filled from the library; only "all" while there is no index."""
        try:
            found = self.base.scopes()
            places, tags = [*found.folders, *found.notes], found.tags
        except RagError:
            places, tags = [], []
        return (
            gr.update(choices=[("all notes", ""), *((p, p) for p in places)]),
            gr.update(choices=[("any tag", ""), *((f"#{t}", t) for t in tags)]),
        )

    @staticmethod
    def _notice(answer: Answer) -> str:
        """How the answer was made, and what was kept out of it: a student should see both."""
        if not answer.llm_used and answer.error:
            unavailable = "**The LLM is unavailable — answered with your notes' own sentences.**"
            lines = [f"{unavailable} ({escape(answer.error)})"]
        elif answer.error:
            lines = [f"**The answer stopped early:** {escape(answer.error)}"]
        elif answer.mode == "abstained":
            lines = [
                f"**Your notes don't cover this** ({how_made(answer.mode, answer.claims)}). The closest "
                "passages are below."
            ]
        elif answer.mode == "extractive":
            lines = [f"**Extractive answer:** {how_made(answer.mode, answer.claims)} (highlighted in the sources)."]
        else:
            lines = [
                "Every sentence was checked against your notes; the highlighted sentences in the sources are "
                "what it was drawn from."
            ]
        if answer.unsupported and answer.mode == "generated":
            lines.append(
                "**Left out — not found in your notes:** " + " · ".join(f"~~{escape(d)}~~" for d in answer.unsupported)
            )
        if answer.notice:
            lines.append(escape(answer.notice))
        return "\n\n".join(lines)

    # ---- interview -----------------------------------------------------------------------------
    def start_interview(self, topic: str, mode: str, n: int, difficulty: str, place: str = "", tag: str = ""):
        try:
            session = self.base.interview(
                topic=topic.strip() or None,
                n=int(n),
                mode=mode,
                difficulty=None if difficulty == "any" else difficulty,
                sources=[place] if place else None,
                tags=[tag] if tag else None,
            )
        except (InterviewError, BadRequest) as e:
            return (
                None,
                f"<p><b>{escape(str(e))}</b></p>",
                "",
                "",
                "",
                gr.update(value=None, visible=False),
                gr.update(interactive=False),
                *self._marks(None),
            )
        return (
            session,
            *self._ask(session),
            "",
            "",
            gr.update(value=None, visible=False),
            gr.update(interactive=True),
            *self._marks(None),
        )

    def _ask(self, session) -> tuple[str, str]:
        """(the question as HTML, the progress line)."""
        q = session.next_question()
        if q is None:
            return "", ended(session)
        return (
            question_html(q),
            f"{'A follow-up to question' if q.follow_up else 'Question'} {q.number} of {len(session.plan)}",
        )

    def answer_interview(self, session, answer: str):
        """The last output is the Submit button: off once the session has ended."""
        if session is None or session.current is None:
            why = (
                "Start a session first."
                if session is None
                else "This session has ended; press Start session for a new one."
            )
            return (
                session,
                gr.skip(),
                gr.skip(),
                f"<p>{why}</p>",
                gr.skip(),
                gr.skip(),
                gr.skip(),
                gr.update(interactive=False),
                gr.skip(),
                gr.skip(),
            )
        session.answer(answer or "")
        question, progress = self._ask(session)
        summary = self._summary(session) if session.done else ""
        transcript = transcript_file(session) if session.done else None
        return (
            session,
            question,
            progress,
            feedback_history(session),
            "",
            summary,
            gr.update(value=transcript, visible=transcript is not None),
            gr.update(interactive=not session.done),
            *self._marks(session),
        )

    @staticmethod
    def _marks(session) -> tuple:
        """(the prompt, its row of Again/Hard/Good/Easy): shown while the last answer awaits a mark."""
        prompt = to_mark(session) if session is not None else ""
        return prompt, gr.update(visible=bool(prompt))

    def mark_answer(self, session, mark: str):
        """(feedback, summary, transcript, prompt, row): the last answer marked, its box moved."""
        if session is None or not to_mark(session):
            return gr.skip(), gr.skip(), gr.skip(), *self._marks(session)
        session.mark(mark)
        done = session.done
        transcript = gr.update(value=transcript_file(session)) if done else gr.skip()
        return (
            feedback_history(session),
            self._summary(session) if done else gr.skip(),
            transcript,
            *self._marks(session),
        )

    def check_answer(self, history: list[dict], answer: str) -> str:
        """The chat's "Check my answer": the user's own answer to the last question asked, graded."""
        asked = [m["content"] for m in plain_messages(history or []) if m["role"] == "user" and m["content"].strip()]
        if not asked:
            return "<p>Ask a question first: your answer is graded against it.</p>"
        try:
            fb = self.base.grade(asked[-1], answer or "")
        except RagError as e:
            return f"<p>{escape(str(e))}</p>"
        return feedback_card(fb, f"Your answer to: {escape(asked[-1])}", answer)  # typed by the user: text

    def export_anki(self, topic: str):
        """The concepts of the topic (or all) as an .apkg to download; importing it again updates the cards."""
        path = Path(tempfile.mkdtemp(prefix="notes-rag-anki-")) / "notes-rag.apkg"
        try:
            deck = self.base.export_anki(path, topic=topic.strip() or None)
        except (InterviewError, IndexProblem) as e:
            return f"**{escape(str(e))}**", gr.update(value=None, visible=False)
        return (
            f"{deck.cards} card{'s' * (deck.cards != 1)} in deck *{escape(deck.deck)}*; importing it again "
            "updates them.",
            gr.update(value=str(deck.path), visible=True),
        )

    @staticmethod
    def _summary(session) -> str:
        s = session.summary()
        rows = "\n".join(f"| {escape(t)} | {v}/10 |" for t, v in sorted(s.per_topic.items(), key=lambda kv: kv[1]))
        below = session.assistant.settings.interview_pass_score
        weak = (
            f"\n\n{s.weak_answers} weak answer{'s' * (s.weak_answers != 1)} (below {below:g}, or marked Again or "
            f"Hard). Weak topics come back next session: {escape('; '.join(s.weak_topics))}"
            if s.weak_topics
            else ""
        )
        return (
            f"### Session summary\nMean {s.mean_score}/10 over {s.answered} answers.\n\n| topic | score "
            f"|\n|---|---|\n{rows}{weak}"
        )

    # ---- library -------------------------------------------------------------------------------
    def library(self):
        info = self.base.status()
        head = f"Notes folder: `{info['notes_dir']}` · index: `{info['index_dir']}`"
        if not info["indexed"]:
            return head + "\n\nNot indexed yet: press **Ingest**.", []
        head += (
            f"\n\n**{info['files']} files, {info['chunks']} chunks** · {info['embedding_model']} · "
            f"{info['index_type']} index"
        )
        return head, [[name, n] for name, n in info["per_file"].items()]

    def ingest(self, rebuild: bool, progress=gr.Progress(), only: set[str] | None = None):
        def report(stage: str, done: int, total: int) -> None:
            progress((done, total or 1), desc=stage)

        try:
            stats = self.base.ingest(rebuild=rebuild, progress=report, lock_wait_seconds=60)
        except Exception as e:  # shown to the user; the previous index stays in use
            return f"**Ingest failed:** {escape(str(e))}", *self.library()
        return self._ingest_report(stats, only), *self.library()

    @staticmethod
    def _ingest_report(stats, only: set[str] | None) -> str:
        """The summary, then what was skipped and warned about: for an upload, only its own files
        (the folder's other problems are the Ingest button's and `rag ingest`'s to report)."""
        concerns = lambda source: only is None or source in only
        lines = [f"Indexed {stats.summary()}"]
        lines += [f"- {escape(str(s))}" for s in stats.skipped if concerns(s.source)]  # the reason says "skipped"
        lines += [f"- warning: {escape(w)}" for w in stats.warnings if concerns(w.split(": ", 1)[0])]
        return "\n".join(lines)

    def upload(self, files: list[dict] | None, progress=gr.Progress()):
        """`files` as the browser sent them (the event skips preprocessing): Gradio keeps only the last
        part of a path-like name when it stores the file, so the name as given is `orig_name`."""
        saved, said, refused = [], [], []
        limit = self.base.settings.ui_upload_max_mb * 1_000_000
        for f in files or []:
            path = Path(f["path"])
            try:
                kept = save_upload(self.base.notes_dir, f.get("orig_name") or path.name, path, limit)
            except UploadRefused as e:
                refused.append(str(e))
                continue
            saved.append(kept.path.name)
            said.append(escape(kept.said))
        message = "\n\n".join([f"Refused {escape(r)}" for r in refused])
        if saved:
            result, head, table = self.ingest(False, progress, only=set(saved))
            message = f"{'. '.join(said)}.\n\n{result}\n\n{message}"
            return message, head, table, None
        return message or "No file given.", *self.library(), None

    def open_note(self, evt: gr.EventData):
        """(viewer, its Close button): the note whose file name was clicked in a card, at the passage."""
        data = getattr(evt, "_data", None) or {}
        number = lambda key: int(data[key]) if str(data.get(key, "")).isdigit() else 0
        try:
            note = self.base.read_note(str(data.get("note", "")))
        except RagError as e:  # the name came from the browser: read_note refuses anything outside the notes
            return gr.update(value=f"<p>{escape(str(e))}</p>", visible=True), gr.update(visible=True)
        line = number("line")
        html = note_view(note, line, max(number("end"), line), str(self.base.notes_dir / note.source))
        return gr.update(value=html, visible=True), gr.update(visible=True)

    def search(self, query: str, k: int) -> str:
        if not (query or "").strip():
            return ""
        return hit_cards(self.base.retrieve(query, k=int(k)))

    # ---- evaluation ----------------------------------------------------------------------------
    def question_set(self, given: str) -> Path | None:
        """A question set the browser may name: a .jsonl file among the project's datasets or under the
        notes folder, by a path relative to either or absolute; never any other file on the server."""
        from eval.dataset import DEFAULT_DATASET

        given = given.strip()
        if not given:
            return None
        roots = [DEFAULT_DATASET.parent.resolve(), self.base.notes_dir.resolve()]
        for candidate in [Path(given)] if Path(given).is_absolute() else [root / given for root in roots]:
            path = candidate.resolve()  # symlinks and ".." resolved before the check
            if path.suffix == ".jsonl" and path.is_file() and any(path.is_relative_to(root) for root in roots):
                return path
        raise ValueError(
            f"{given}: not a question set here; use a .jsonl file in {roots[0]} or under the notes folder {roots[1]}"
        )

    def evaluate(self, dataset: str, configs: list[str], split: str, progress=gr.Progress()):
        from PIL import Image

        from eval.report import write_report
        from eval.run import evaluate

        if not configs:
            return [], None, "Choose at least one configuration."
        try:
            report = evaluate(
                self.base,
                "retrieval",
                configs=configs,
                dataset=self.question_set(dataset),
                split=split,
                progress=lambda stage, done, total: progress((done, total or 1), desc=stage),
            )
        except (ValueError, OSError) as e:
            return [], None, f"**{escape(str(e))}**"
        with tempfile.TemporaryDirectory(prefix="notes-rag-eval-") as out:  # the plot is read back; nothing stays
            recall_png = next(p for p in write_report(report, Path(out)) if p.name == "recall_at_k.png")
            with Image.open(recall_png) as image:
                plot = image.copy()
        rows = [
            [
                r.name,
                r.chunks,
                round(r.hit_at_2000, 3),
                *(round(r.metrics[m], 3) for m in ("recall@1", "recall@5", "mrr@10", "ndcg@10")),
            ]
            for r in report.results
        ]
        return (
            rows,
            plot,
            f"{report.questions} questions ({report.split}); `rag eval retrieval --out DIR` writes the full report",
        )

    # ---- layout --------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        with gr.Blocks(title="notes-rag") as demo:
            gr.Markdown("## notes-rag — answers from your own ML notes")
            loading = gr.Markdown(LOADING, elem_id="loading")
            demo.load(self.loading, None, loading)
            pickers = [*self._chat_tab(), *self._interview_tab()]
            progress_tab(self.base)
            demo.load(lambda: 2 * self.scope_choices(), None, pickers)  # the library as it is when the page opens
            self._library_tab(demo)
            self._evaluation_tab()
        # questions queue instead of failing; vLLM batches the ones that run together
        return demo.queue(default_concurrency_limit=self.base.settings.ui_concurrency)

    def _chat_tab(self) -> tuple[gr.Dropdown, gr.Dropdown]:
        s = self.base.settings
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(
                label="Conversation",
                height=420,
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=LATEX_DELIMITERS,
                buttons=["copy", "copy_all"],  # not "share": it posts to Hugging Face, and has no name
                elem_id="chat",
            )
            notice = gr.Markdown(elem_id="chat-notice")
            with gr.Row():
                question = gr.Textbox(
                    label="Your question",  # its accessible name; the placeholder says the rest
                    placeholder="Ask about your notes…",
                    show_label=False,
                    scale=5,
                    elem_id="question",
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                place, tag = self._scope_pickers("chat")
                new = gr.Button("New conversation", size="sm")
            with gr.Row():
                cards = gr.HTML(elem_id="sources", js_on_load=OPEN_NOTE_JS, scale=3)
                related = gr.HTML(elem_id="related", scale=1)
            self._note_viewer("chat", cards)
            with gr.Accordion("Check my answer to the last question", open=False, elem_id="chat-check"):
                own = gr.Textbox(label="your answer", lines=3, elem_id="chat-own-answer")
                check = gr.Button("Check my answer", size="sm", elem_id="chat-check-button")
                checked = gr.HTML(elem_id="chat-check-result", js_on_load=OPEN_NOTE_JS)
            check.click(self.check_answer, [chatbot, own], checked)
            refresh_history = history_panel(self.base)
            with gr.Accordion("Settings", open=False):
                k = gr.Slider(1, 10, value=s.top_k, step=1, label="passages (top-k)")
                endpoint = gr.Textbox(
                    value=s.llm_base_url,
                    label="model endpoint (OpenAI-compatible)",
                    interactive=self.endpoint_editable,
                    info="The server calls this URL for you: editable only on loopback or behind a login."
                    if self.endpoint_editable
                    else "Fixed: the app is reachable from the network without a login, so the server only "
                    "calls the configured endpoint.",
                )
                temperature = gr.Slider(0.0, 1.5, value=s.llm_temperature, step=0.1, label="temperature")
            gr.on(
                [send.click, question.submit],
                self.chat_turn,
                [question, chatbot, k, endpoint, temperature, place, tag],
                [chatbot, cards, notice, question, send, related],
                api_name="respond",
                show_progress_on=chatbot,
                trigger_mode="always_last",  # a question sent while one is answered runs next
            ).then(lambda: gr.update(interactive=True), None, send).then(*refresh_history)
            new.click(lambda: ([], "", "", ""), None, [chatbot, cards, notice, related])
            chatbot.clear(lambda: ("", "", ""), None, [cards, notice, related])  # the toolbar's trash icon
        return place, tag

    @staticmethod
    def _scope_pickers(tab: str) -> tuple[gr.Dropdown, gr.Dropdown]:
        """A note or folder and a tag to stay within; their choices come from the library on page load."""
        place = gr.Dropdown([("all notes", "")], value="", label="only this note or folder", elem_id=f"{tab}-place")
        tag = gr.Dropdown([("any tag", "")], value="", label="only notes tagged", elem_id=f"{tab}-tag")
        return place, tag

    def _note_viewer(self, tab: str, cards: gr.HTML) -> None:
        """Under `cards`: the note whose file name was clicked in one of them, and a button to close it."""
        view = gr.HTML(visible=False, elem_id=f"note-view-{tab}", js_on_load=SHOW_PASSAGE_JS)
        close = gr.Button("Close the note", size="sm", visible=False, elem_id=f"note-close-{tab}")
        cards.click(self.open_note, None, [view, close])
        close.click(lambda: (gr.update(visible=False), gr.update(visible=False)), None, [view, close])

    def _interview_tab(self) -> tuple[gr.Dropdown, gr.Dropdown]:
        with gr.Tab("Interview"):
            session = gr.State(None)
            with gr.Row():
                topic = gr.Textbox(label="topic (empty: any)", elem_id="iv-topic")
                mode = gr.Radio(list(MODES), value="concepts", label="mode")
                n = gr.Slider(1, 10, value=5, step=1, label="questions", elem_id="iv-n")
                difficulty = gr.Dropdown(["any", *DIFFICULTIES], value="any", label="difficulty")
            with gr.Row():
                place, tag = self._scope_pickers("iv")
            start = gr.Button("Start session", variant="primary", elem_id="iv-start")
            progress_md = gr.Markdown(elem_id="iv-progress")
            # the end of a session shows where each question was, above the feedback: under it, the summary
            # was a long page below the user's eyes (the question's place is empty once the session is done)
            summary = gr.Markdown(elem_id="iv-summary")
            transcript = gr.DownloadButton("Download transcript", visible=False, elem_id="iv-download")
            question_md = gr.HTML(elem_id="iv-question")
            answer = gr.Textbox(label="your answer (Ctrl+Enter submits it)", lines=4, elem_id="iv-answer")
            submit = gr.Button("Submit answer", interactive=False, elem_id="iv-submit")
            with gr.Row(visible=False, elem_id="iv-marks") as marks:
                mark_md = gr.Markdown(elem_id="iv-mark-prompt")
                mark_buttons = {m: gr.Button(m.capitalize(), size="sm", elem_id=f"iv-mark-{m}") for m in MARKS}
            feedback = gr.HTML(elem_id="iv-feedback", js_on_load=OPEN_NOTE_JS)
            self._note_viewer("interview", feedback)
            with gr.Row():
                anki = gr.Button("Export Anki deck (the topic above, or all)", size="sm", elem_id="iv-anki")
                anki_md = gr.Markdown(elem_id="iv-anki-result")
            anki_file = gr.File(label="Anki deck", visible=False, elem_id="iv-anki-file")
            anki.click(self.export_anki, [topic], [anki_md, anki_file])
            start.click(
                self.start_interview,
                [topic, mode, n, difficulty, place, tag],
                [session, question_md, progress_md, feedback, summary, transcript, submit, mark_md, marks],
            )
            submit.click(
                self.answer_interview,
                [session, answer],
                [session, question_md, progress_md, feedback, answer, summary, transcript, submit, mark_md, marks],
            )
            for m, button in mark_buttons.items():
                button.click(
                    lambda current, m=m: self.mark_answer(current, m),
                    [session],
                    [feedback, summary, transcript, mark_md, marks],
                )
        return place, tag

    def _library_tab(self, demo: gr.Blocks) -> None:
        s = self.base.settings
        with gr.Tab("Library") as library_tab:
            library_md = gr.Markdown(elem_id="lib-status")
            with gr.Row():
                rebuild = gr.Checkbox(label="rebuild from scratch")
                ingest = gr.Button("Ingest / re-ingest", elem_id="lib-ingest")
            ingest_md = gr.Markdown(elem_id="lib-result")
            upload = gr.File(
                label=f"Upload notes ({', '.join(ALLOWED)}; up to {s.ui_upload_max_mb} MB)",
                file_count="multiple",
                file_types=list(ALLOWED),
                type="filepath",
                elem_id="lib-upload",
            )
            files = gr.Dataframe(headers=["file", "chunks"], label="per-file chunks", interactive=False)
            with gr.Row(equal_height=True, elem_id="lib-search-row"):  # the button as tall as the box it searches
                search_box = gr.Textbox(label="search the index (raw retrieval, no LLM)", scale=5, elem_id="lib-search")
                search_button = gr.Button("Search", scale=1, elem_id="lib-search-button")
                search_k = gr.Slider(1, 20, value=s.top_k, step=1, label="k", scale=1)
            results = gr.HTML(elem_id="lib-results", js_on_load=OPEN_NOTE_JS)
            self._note_viewer("library", results)
            # one progress bar, in the result box (not one per output)
            ingest.click(self.ingest, [rebuild], [ingest_md, library_md, files], show_progress_on=ingest_md)
            upload.upload(
                self.upload,
                [upload],
                [ingest_md, library_md, files, upload],
                preprocess=False,
                show_progress_on=ingest_md,
            )
            searched = gr.on([search_box.submit, search_button.click], self.search, [search_box, search_k], results)
            searched.then(None, js=SHOW_RESULTS_JS)
            # read when the page loads and when the tab opens: an ingest from the CLI or another tab
            # since the app started (or since the page loaded) must show
            demo.load(self.library, None, [library_md, files])
            library_tab.select(self.library, None, [library_md, files])

    def _evaluation_tab(self) -> None:
        with gr.Tab("Evaluation"):
            from eval.report import CONFIGS

            dataset = gr.Textbox(
                label="question set: a .jsonl file in eval/datasets/ or under the notes folder (empty: the shipped one)"
            )
            configs = gr.CheckboxGroup(list(CONFIGS), value=["bm25", "dense", "hybrid"], label="configurations")
            split = gr.Radio(["dev", "test", "holdout", "all"], value="holdout", label="split")
            run = gr.Button("Run retrieval evaluation", elem_id="ev-run")
            eval_md = gr.Markdown(elem_id="ev-result")
            eval_table = gr.Dataframe(
                headers=["configuration", "chunks", "hit@2000", "recall@1", "recall@5", "MRR@10", "nDCG@10"],
                interactive=False,
            )
            plot = gr.Image(label="recall@k", type="pil")
            run.click(self.evaluate, [dataset, configs, split], [eval_table, plot, eval_md], show_progress_on=eval_md)


def launch(assistant: Assistant, host: str, port: int, auth: str | None = None, block: bool = True):
    credentials = login(host, auth)
    demo = App(assistant, endpoint_editable=host in LOOPBACK or credentials is not None).build()
    demo.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        prevent_thread_lock=not block,
        ssr_mode=False,
        quiet=True,
        css=CSS,
        theme=THEME,
        js=SUBMIT_KEYS_JS,
        max_file_size=UPLOAD_TRANSPORT_FACTOR * assistant.settings.ui_upload_max_mb * 1_000_000,
        footer_links=[],
    )
    return demo
