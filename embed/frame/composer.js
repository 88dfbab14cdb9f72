// The chat input: a textarea that grows with its text (up to a few lines)
// and a Send button. Enter sends, Shift+Enter starts a new line; text a
// refused message leaves behind goes back into the box.

import { SEND_ICON, h, icon } from "./dom.js";

export function createComposer(conversation) {
  const input = h("textarea", {
    "data-input": true,
    rows: 1,
    placeholder: "Write a message…",
    "aria-label": "Message",
    enterkeyhint: "send",
  });
  const button = h("button", { type: "submit", class: "send", "data-send": true, "aria-label": "Send" }, [icon(SEND_ICON)]);
  let sending = false;

  const grow = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  };

  const form = h("form", { class: "composer" }, [input, button]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim() || sending) return;
    sending = true;
    button.disabled = true;
    input.value = "";
    grow();
    const sent = await conversation.send({ text: text.trim() }, text.trim());
    sending = false;
    button.disabled = false;
    if (!sent && !input.value) {
      input.value = text;
      grow();
    }
    if (document.activeElement === button || document.activeElement === document.body) input.focus();
  });
  input.addEventListener("keydown", (event) => {
    // 229: a key that an input method is composing with (Safari).
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    if (form.requestSubmit) form.requestSubmit();
    else button.click();
  });
  input.addEventListener("input", grow);

  return { el: form, focus: () => input.focus() };
}
