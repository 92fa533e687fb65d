// The Manifests page's editor: CodeMirror 6 with JSON highlighting and a lint gutter fed by the
// server's validator (the same one the mock uses), live as you type and when the file changes
// on disk; atomic saves that refuse to overwrite a file changed on disk since it was loaded.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { json } from "@codemirror/lang-json";
import { linter, lintGutter, forceLinting } from "@codemirror/lint";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

// look is both editors' appearance: JSON colours from the stylesheet's variables (so the dark
// theme has readable ones), the page's font, and a name for screen readers. tabindex makes the
// text area a stop of the Tab order, which is also how keyboard users scroll it.
function look(label) {
  return [
    syntaxHighlighting(
      HighlightStyle.define([
        { tag: tags.propertyName, color: "var(--syn-property)" },
        { tag: tags.string, color: "var(--syn-string)" },
        { tag: tags.number, color: "var(--syn-number)" },
        { tag: [tags.bool, tags.null], color: "var(--syn-keyword)" },
        { tag: tags.invalid, color: "var(--err)" },
      ]),
    ),
    EditorView.contentAttributes.of({ "aria-label": label, tabindex: "0" }),
    EditorView.theme({
      "&": { color: "var(--text)", backgroundColor: "var(--panel)" },
      ".cm-scroller": { fontFamily: "ui-monospace, Menlo, Consolas, monospace" },
      ".cm-gutters": { backgroundColor: "var(--code)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
      ".cm-activeLine": { backgroundColor: "var(--accent-soft)" },
      ".cm-activeLineGutter": { backgroundColor: "var(--accent-soft)" },
      ".cm-cursor": { borderLeftColor: "var(--text)" },
      "&.cm-focused": { outline: "none" }, // app.css draws the ring with :focus-within
    }),
  ];
}

const pane = document.getElementById("editor-pane");
if (pane) start(pane);
const ruleEditor = document.getElementById("rule-editor");
if (ruleEditor) startRuleEditor(ruleEditor);

function csrf() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

async function post(url, body) {
  const resp = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  return { status: resp.status, data };
}

// offsetOf turns the validator's 1-based line and column (counted in characters, as editors
// show them) into a CodeMirror document offset (counted in UTF-16 code units).
export function offsetOf(doc, line, column) {
  if (!line || line < 1) return 0;
  if (line > doc.lines) return doc.length;
  const l = doc.line(line);
  let units = 0;
  let chars = 1;
  for (const ch of l.text) {
    if (chars >= column) break;
    units += ch.length;
    chars++;
  }
  return l.from + Math.min(units, l.length);
}

function toDiagnostics(doc, report) {
  const out = [];
  for (const d of [...(report.errors || []), ...(report.warnings || []), ...(report.infos || [])]) {
    const from = offsetOf(doc, d.line, d.column);
    let to = d.end_line ? offsetOf(doc, d.end_line, d.end_column) : from;
    // Whole-document spans (such as "unsigned") would paint everything: mark their start only.
    if (to - from > 400 || to < from) to = from;
    const severity = d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info";
    out.push({ from, to, severity, message: d.message, source: d.rule });
  }
  return out;
}

function start(pane) {
  const file = JSON.parse(document.getElementById("editor-file").textContent);
  const path = file.path;
  let baseHash = file.hash;
  let savedText = file.text;
  let lastReport = file.report;
  const problems = document.getElementById("problems");
  const problemCount = document.getElementById("problem-count");
  const dirtyBadge = document.getElementById("dirty");
  const conflict = document.getElementById("conflict");

  const renderProblems = (view, report) => {
    lastReport = report;
    const all = [...(report.errors || []), ...(report.warnings || []), ...(report.infos || [])];
    problemCount.textContent = String(all.length);
    problems.replaceChildren(
      ...all.map((d) => {
        const li = document.createElement("li");
        li.className = `problem ${d.severity}`;
        li.dataset.line = d.line || 0;
        li.dataset.column = d.column || 0;
        const badge = document.createElement("span");
        badge.className = "badge" + (d.severity === "error" ? " err" : d.severity === "warning" ? " warn" : "");
        badge.textContent = d.severity;
        const where = document.createElement("span");
        where.className = "where mono";
        where.textContent = d.line ? `${d.line}:${d.column}` : "file";
        const rule = document.createElement("code");
        rule.textContent = d.rule;
        li.append(badge, " ", where, " ", d.message, " ", rule);
        li.addEventListener("click", () => {
          const pos = offsetOf(view.state.doc, d.line, d.column);
          view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
          view.focus();
        });
        return li;
      }),
    );
  };

  // The linter asks the server about the text in the editor, saved or not.
  const serverLint = linter(
    async (view) => {
      const text = view.state.doc.toString();
      const { status: code, data } = await post("/ui/manifests/validate", { path, text });
      if (code !== 200) return [];
      if (view.state.doc.toString() !== text) return []; // stale: a newer run follows
      renderProblems(view, data);
      return toDiagnostics(view.state.doc, data);
    },
    { delay: 250 },
  );

  const setDirty = (view) => {
    const dirty = view.state.doc.toString() !== savedText;
    dirtyBadge.hidden = !dirty;
    pane.dataset.dirty = dirty ? "true" : "false";
  };

  // showConflict explains a clash with the file on disk and offers the given choices.
  const showConflict = (message, choices) => {
    conflict.hidden = false;
    const msg = document.createElement("span");
    msg.textContent = message + " ";
    const buttons = choices.map(([label, action]) => {
      const b = document.createElement("button");
      b.textContent = label;
      b.addEventListener("click", action);
      return b;
    });
    conflict.replaceChildren(msg, ...buttons);
    pane.dataset.conflict = "true";
  };

  const save = async (view, force) => {
    const text = view.state.doc.toString();
    const { status: code, data } = await post("/ui/manifests/save", { path, text, base_hash: force ? force : baseHash });
    if (code === 409) {
      showConflict("This file changed on disk since you opened it.", [
        ["Overwrite with my version", () => save(view, data.hash)],
        ["Discard mine, load the disk version", () => replaceText(view, data.text, data.hash)],
      ]);
      return;
    }
    if (code !== 200) {
      conflict.hidden = false;
      conflict.textContent = `Not saved: ${data.error}`;
      return;
    }
    conflict.hidden = true;
    pane.dataset.conflict = "false";
    baseHash = data.hash;
    savedText = text;
    setDirty(view);
    renderProblems(view, data.report);
  };

  const replaceText = (view, text, hash) => {
    baseHash = hash;
    savedText = text;
    conflict.hidden = true;
    pane.dataset.conflict = "false";
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    setDirty(view);
    forceLinting(view);
  };

  const view = new EditorView({
    parent: document.getElementById("editor"),
    state: EditorState.create({
      doc: file.text,
      extensions: [
        basicSetup,
        json(),
        lintGutter(),
        serverLint,
        keymap.of([{ key: "Mod-s", preventDefault: true, run: (v) => (save(v), true) }]),
        EditorView.updateListener.of((u) => u.docChanged && setDirty(u.view)),
        EditorView.theme({ "&": { height: "100%" } }),
        look(`Contents of ${path}`),
      ],
    }),
  });
  window.ospboxEditor = view;
  renderProblems(view, lastReport);
  document.getElementById("save").addEventListener("click", () => save(view));
  window.addEventListener("beforeunload", (e) => {
    if (view.state.doc.toString() !== savedText) e.preventDefault();
  });

  // When anything changes (the watcher reloaded manifests), look at the file on disk: take the
  // new text when the editor is clean, warn when it holds unsaved edits.
  document.body.addEventListener("htmx:sseMessage", async (e) => {
    if (e.detail.type !== "changed") return;
    const resp = await fetch(`/ui/manifests/file?path=${encodeURIComponent(path)}`, { credentials: "same-origin" });
    if (!resp.ok) return;
    const disk = await resp.json();
    if (disk.hash !== baseHash) {
      if (view.state.doc.toString() === savedText) {
        replaceText(view, disk.text, disk.hash);
      } else if (view.state.doc.toString() !== disk.text) {
        showConflict("This file changed on disk while you have unsaved edits.", [
          ["Load the disk version", () => replaceText(view, disk.text, disk.hash)],
        ]);
      }
    }
  });
}

// The Scenarios page's rule editor: the textarea the form posts becomes CodeMirror, linted live by
// the server's rule decoder (the API's own), problems listed with their line and column.
function startRuleEditor(el) {
  const textarea = document.getElementById("rule-text");
  const problems = document.getElementById("rule-problems");
  const lint = linter(
    async (view) => {
      const text = view.state.doc.toString();
      const { status: code, data } = await post("/ui/scenarios/check", { path: "", text });
      if (code !== 200 || view.state.doc.toString() !== text) return [];
      problems.replaceChildren(
        ...(data.errors || []).map((d) => {
          const li = document.createElement("li");
          li.className = "problem error";
          li.textContent = `${d.line}:${d.column} ${d.pointer ? d.pointer + ": " : ""}${d.message}`;
          return li;
        }),
      );
      return toDiagnostics(view.state.doc, data);
    },
    { delay: 250 },
  );
  const view = new EditorView({
    parent: el,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        json(),
        lintGutter(),
        lint,
        look("Scenario rule (JSON)"),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) textarea.value = u.state.doc.toString();
        }),
      ],
    }),
  });
  textarea.hidden = true;
  el.dataset.ready = "true";
  forceLinting(view);
}
