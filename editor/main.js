// The agent editor's code pane: CodeMirror 6 with only what writing an agent
// needs. scripts/build-editor.mjs bundles this file (and its CSS, which
// CodeMirror injects from JavaScript) into dist/editor-<hash>.js, and
// app/src/code_editor.rs imports it only when the editor page shows it, so
// no other page pays for it.

import { Annotation, Compartment, EditorState, Prec } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  HighlightStyle,
  LanguageSupport,
  bracketMatching,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { highlightSelectionMatches, search, searchKeymap } from "@codemirror/search";
import { lintGutter, lintKeymap, setDiagnostics as lintDiagnostics } from "@codemirror/lint";
import { javascriptLanguage } from "@codemirror/lang-javascript";
import { jsonLanguage } from "@codemirror/lang-json";
import { tags as t } from "@lezer/highlight";

// The bare languages, not javascript()/json(): those add completion sources
// and a JSON linter that the bundle would carry for nothing.
const languages = {
  javascript: () => new LanguageSupport(javascriptLanguage),
  json: () => new LanguageSupport(jsonLanguage),
};

// Colours come from the app's CSS variables (style/main.css), so the editor
// follows its light and dark themes; the fallbacks are the light theme's.
// Syntax colours are mixed with the text colour, which raises their contrast
// in both themes.
const mix = (color, fallback, share) =>
  `color-mix(in srgb, var(${color}, ${fallback}) ${share}%, var(--text, #16161d))`;

const theme = EditorView.theme({
  "&": {
    color: "var(--text, #16161d)",
    backgroundColor: "var(--surface, #fff)",
    border: "1px solid var(--border, #e2e2ec)",
    borderRadius: "12px",
    fontSize: "14px",
    minHeight: "16rem",
    maxHeight: "70vh",
  },
  "&.cm-focused": { outline: "2px solid var(--accent, #5b4cf0)", outlineOffset: "-1px" },
  ".cm-scroller": { fontFamily: "var(--mono, ui-monospace, monospace)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "var(--text, #16161d)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--text, #16161d)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection":
    { backgroundColor: "color-mix(in srgb, var(--accent, #5b4cf0) 28%, transparent)" },
  ".cm-gutters": {
    backgroundColor: "var(--surface-2, #f0f0f6)",
    color: "var(--muted, #5d5d70)",
    borderRight: "1px solid var(--border, #e2e2ec)",
    borderRadius: "11px 0 0 11px",
  },
  ".cm-activeLine": { backgroundColor: "color-mix(in srgb, var(--accent, #5b4cf0) 6%, transparent)" },
  ".cm-activeLineGutter": {
    backgroundColor: "color-mix(in srgb, var(--accent, #5b4cf0) 12%, transparent)",
    color: "var(--text, #16161d)",
  },
  "&.cm-focused .cm-matchingBracket": {
    backgroundColor: "color-mix(in srgb, var(--accent-2, #15a58b) 30%, transparent)",
  },
  "&.cm-focused .cm-nonmatchingBracket": {
    backgroundColor: "color-mix(in srgb, var(--danger, #c93a3a) 30%, transparent)",
  },
  ".cm-searchMatch": {
    backgroundColor: "color-mix(in srgb, var(--warn, #c98a12) 30%, transparent)",
    outline: "1px solid color-mix(in srgb, var(--warn, #c98a12) 60%, transparent)",
  },
  ".cm-searchMatch.cm-searchMatch-selected": {
    backgroundColor: "color-mix(in srgb, var(--accent, #5b4cf0) 35%, transparent)",
  },
  ".cm-selectionMatch": { backgroundColor: "color-mix(in srgb, var(--accent-2, #15a58b) 18%, transparent)" },
  ".cm-panels": { backgroundColor: "var(--surface-2, #f0f0f6)", color: "var(--text, #16161d)" },
  ".cm-panels-top": { borderBottom: "1px solid var(--border, #e2e2ec)" },
  ".cm-panels-bottom": { borderTop: "1px solid var(--border, #e2e2ec)" },
  ".cm-textfield, .cm-button": {
    font: "inherit",
    color: "var(--text, #16161d)",
    backgroundColor: "var(--surface, #fff)",
    backgroundImage: "none",
    border: "1px solid var(--border, #e2e2ec)",
    borderRadius: "6px",
  },
  ".cm-tooltip": {
    color: "var(--text, #16161d)",
    backgroundColor: "var(--surface, #fff)",
    border: "1px solid var(--border, #e2e2ec)",
    borderRadius: "8px",
  },
});

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.operatorKeyword, t.modifier], color: mix("--accent", "#5b4cf0", 85) },
  { tag: [t.string, t.special(t.string), t.regexp], color: mix("--ok", "#1f9d55", 75) },
  { tag: [t.number, t.bool, t.null, t.atom], color: mix("--warn", "#c98a12", 65) },
  { tag: t.comment, color: "var(--muted, #5d5d70)", fontStyle: "italic" },
  { tag: [t.propertyName, t.labelName], color: mix("--accent-2", "#15a58b", 70) },
  {
    tag: [t.function(t.variableName), t.function(t.propertyName), t.definition(t.variableName)],
    color: mix("--accent", "#5b4cf0", 55),
  },
  { tag: [t.typeName, t.className, t.namespace], color: mix("--accent-2", "#15a58b", 55) },
  { tag: t.invalid, color: "var(--danger, #c93a3a)" },
]);

// Marks the transactions of setValue, which are not the user's edits.
const external = Annotation.define();

const SEVERITIES = ["error", "warning", "info", "hint"];

/**
 * The server's diagnostics (1-based line and column) as CodeMirror's: from
 * the column to the end of the word there (or one character), clamped to the
 * document so a stale position still shows somewhere sensible.
 */
function toDiagnostics(doc, list) {
  return Array.from(list ?? [], (d) => {
    const line = doc.line(Math.min(Math.max(Math.trunc(d.line) || 1, 1), doc.lines));
    const offset = Math.min(Math.max((Math.trunc(d.column) || 1) - 1, 0), line.length);
    const word = /^\w+/.exec(line.text.slice(offset));
    const from = line.from + offset;
    return {
      from,
      to: Math.min(line.to, from + (word ? word[0].length : 1)),
      severity: SEVERITIES.includes(d.severity) ? d.severity : "error",
      message: String(d.message ?? ""),
    };
  });
}

/**
 * Mounts an editor into `parent`, in place of what it held (a loading note),
 * and returns its handle.
 *
 * options: doc (text), language ("javascript", "json", anything else is plain
 * text), readOnly, label (the accessible name), onChange(text) after each
 * edit by the user, onSave(text) on Ctrl/Cmd-S.
 *
 * The handle: getValue(), setValue(text) (not reported to onChange),
 * setDiagnostics([{line, column, message, severity?}]) with 1-based
 * positions, focus(), destroy(), and view, the EditorView itself.
 */
export function mount(parent, options = {}) {
  const { doc = "", language, readOnly = false, label = "Code", onChange, onSave } = options;
  const dark = window.matchMedia?.("(prefers-color-scheme: dark)");
  const darkness = new Compartment();
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    syntaxHighlighting(highlight),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    search({ top: true }),
    lintGutter(),
    keymap.of([
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...searchKeymap,
      ...historyKeymap,
      ...lintKeymap,
      indentWithTab,
    ]),
    theme,
    // Only for what the theme above leaves to CodeMirror's own light/dark
    // styles (lint panel, search buttons).
    darkness.of(EditorView.darkTheme.of(Boolean(dark?.matches))),
    EditorView.contentAttributes.of({ "aria-label": label }),
    EditorState.readOnly.of(Boolean(readOnly)),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && onChange && update.transactions.some((tr) => !tr.annotation(external))) {
        onChange(update.state.doc.toString());
      }
    }),
  ];
  if (languages[language]) extensions.push(languages[language]());
  if (onSave) {
    // Highest precedence and always handled, so the browser never offers to
    // save the page instead.
    extensions.push(
      Prec.highest(
        keymap.of([{ key: "Mod-s", preventDefault: true, run: (view) => (onSave(view.state.doc.toString()), true) }]),
      ),
    );
  }

  const state = EditorState.create({ doc: String(doc), extensions });
  parent.replaceChildren();
  const view = new EditorView({ parent, state });
  const followTheme = (event) =>
    view.dispatch({ effects: darkness.reconfigure(EditorView.darkTheme.of(event.matches)) });
  dark?.addEventListener?.("change", followTheme);

  return {
    getValue: () => view.state.doc.toString(),
    setValue(text) {
      text = String(text);
      if (text === view.state.doc.toString()) return;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, annotations: external.of(true) });
    },
    setDiagnostics(list) {
      view.dispatch(lintDiagnostics(view.state, toDiagnostics(view.state.doc, list)));
    },
    focus: () => view.focus(),
    destroy() {
      dark?.removeEventListener?.("change", followTheme);
      view.destroy();
    },
    view,
  };
}
