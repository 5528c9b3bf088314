// Copy buttons: <button data-copy="element-id">Copy</button> copies that element's text.
// Plain JavaScript, no dependencies; the page works without it (the text is selectable).
"use strict";
(function () {
  function copied(button, ok) {
    var status = document.getElementById(button.getAttribute("data-status") || "");
    var message = ok ? "Copied" : "Copy failed: select the text and copy it";
    if (status) { status.textContent = message; }
    button.setAttribute("data-copied", ok ? "yes" : "no");
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    event.preventDefault();
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, true); },
        function () { copied(button, false); }
      );
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    copied(button, ok);
  });
})();
