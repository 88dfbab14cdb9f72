//! The agent editor's code pane. CodeMirror is bundled apart from the app
//! (`editor/`, built by `scripts/build-editor.mjs` into `editor-<hash>.js`,
//! which index.html names in `<meta name="agentdeck-editor">`) and imported
//! only when this component mounts, so no other page downloads it.

use leptos::prelude::*;

/// The server's diagnostics, shown as they come (the editor clamps positions
/// past the end of the text).
pub use types::market::Diagnostic;

/// A CodeMirror editor: line numbers, syntax colours, bracket matching and
/// closing, undo, search (Ctrl/Cmd-F) and the server's diagnostics.
///
/// It is an `<agentdeck-code-editor>` element whose JavaScript (below) loads
/// the editor when the element enters the page and destroys it when the
/// element leaves, so the Rust side holds no handle, effect or cleanup: each
/// of those costs the WASM bundle that every page downloads.
#[component]
pub fn CodeEditor(
    /// The text to edit, read once: to show other text (another version),
    /// render a new editor, whose undo history then starts afresh.
    #[prop(into)]
    initial: String,
    /// `"javascript"` or `"json"`; anything else is plain text.
    language: &'static str,
    /// The whole text, after each edit the user makes.
    #[prop(into)]
    on_change: Callback<String>,
    /// Ctrl/Cmd-S in the editor, with the whole text (the browser's own
    /// "save page" is suppressed).
    #[prop(optional, into)]
    on_save: Option<Callback<String>>,
    /// Marked in the text and the gutter; they move with the text as the user
    /// edits until the next list replaces them.
    #[prop(optional, into)]
    diagnostics: Signal<Vec<Diagnostic>>,
    /// The accessible name of the text area.
    label: &'static str,
    /// The text can be read, selected and searched, not changed.
    #[prop(optional)]
    read_only: bool,
) -> impl IntoView {
    #[cfg(feature = "csr")]
    {
        let options = browser::options(&initial, language, label, read_only, on_change, on_save);
        // Its look, loading note and `data-state` come from its JavaScript:
        // each attribute or child here would cost the WASM bundle more.
        view! {
            <agentdeck-code-editor
                prop:options=options
                prop:diagnostics=move || diagnostics.with(|list| browser::to_js(list))
            />
        }
    }
    #[cfg(not(feature = "csr"))]
    {
        let _ = (
            initial,
            language,
            on_change,
            on_save,
            diagnostics,
            label,
            read_only,
        );
        view! { <agentdeck-code-editor /> }
    }
}

#[cfg(feature = "csr")]
mod browser {
    use js_sys::{Array, Object, Reflect};
    use leptos::prelude::*;
    use wasm_bindgen::JsValue;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::prelude::wasm_bindgen;

    use super::Diagnostic;

    // The element's whole life is here: once connected, show a loading
    // note and import the bundle named in index.html (`import()` is syntax,
    // so this must be JavaScript), then mount the editor in place of the
    // note or write the failure into it; once disconnected, destroy the
    // editor, keeping its text in case the element comes back.
    #[wasm_bindgen(inline_js = r#"
export function define() {
  if (customElements.get("agentdeck-code-editor")) return;
  customElements.define("agentdeck-code-editor", class extends HTMLElement {
    set diagnostics(list) {
      this.list = list;
      this.editor?.setDiagnostics(list);
    }
    connectedCallback() {
      this.className = "code-editor";
      this.style.display = "block";
      this.dataset.state = "loading";
      this.innerHTML = '<p class="muted small" role="status">Loading editor…</p>';
      const url = document.querySelector('meta[name="agentdeck-editor"]')?.content;
      const loading = (this.loading = url
        ? import(url)
        : Promise.reject(new Error("this build of the app does not include it")));
      loading
        .then((module) => {
          if (this.loading !== loading) return;
          this.editor = module.mount(this, this.options);
          if (this.list) this.editor.setDiagnostics(this.list);
          this.dataset.state = "ready";
        })
        .catch((error) => {
          if (this.loading !== loading) return;
          const note = this.firstElementChild || this;
          note.className = "panel panel-error form-error";
          note.textContent = `The code editor could not be loaded (${error?.message ?? error}). Check the connection and reload the page.`;
          this.dataset.state = "failed";
        });
    }
    disconnectedCallback() {
      this.loading = null;
      if (this.editor) {
        this.options = { ...this.options, doc: this.editor.getValue() };
        this.editor.destroy();
        this.editor = null;
      }
    }
  });
}
"#)]
    extern "C" {
        fn define();
    }

    /// The options of `mount` in editor/main.js; defines the element first.
    pub(super) fn options(
        initial: &str,
        language: &str,
        label: &str,
        read_only: bool,
        on_change: Callback<String>,
        on_save: Option<Callback<String>>,
    ) -> JsValue {
        define();
        let options = Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = Reflect::set(&options, &JsValue::from_str(key), value);
        };
        set("doc", &JsValue::from_str(initial));
        set("language", &JsValue::from_str(language));
        set("label", &JsValue::from_str(label));
        set("readOnly", &JsValue::from_bool(read_only));
        // Owned by JavaScript from here: freed once the editor calling them
        // is gone and collected.
        let callback = |callback: Callback<String>| {
            Closure::<dyn FnMut(String)>::new(move |text: String| {
                callback.try_run(text);
            })
            .into_js_value()
        };
        set("onChange", &callback(on_change));
        if let Some(on_save) = on_save {
            set("onSave", &callback(on_save));
        }
        options.into()
    }

    pub(super) fn to_js(list: &[Diagnostic]) -> JsValue {
        list.iter()
            .map(|diagnostic| {
                let object = Object::new();
                let _ = Reflect::set(&object, &"line".into(), &diagnostic.line.into());
                let _ = Reflect::set(&object, &"column".into(), &diagnostic.column.into());
                let _ = Reflect::set(
                    &object,
                    &"message".into(),
                    &JsValue::from_str(&diagnostic.message),
                );
                JsValue::from(object)
            })
            .collect::<Array>()
            .into()
    }
}
