// Copy buttons (admin invite codes): hidden without JavaScript, where the code stays plain,
// selectable text. A click copies the code, says so on the button and in a polite live region
// (screen readers), and selects the code if the browser refuses the clipboard.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");
  function say(button, text) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    if (status) { status.textContent = ""; status.textContent = text; }
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { button.textContent = label; }, 2000);
  }
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var failed = function () {
        select(source);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        say(button, ok ? button.getAttribute("data-copied") : button.getAttribute("data-copy-failed"));
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          say(button, button.getAttribute("data-copied"));
        }, failed);
      } else {
        failed();
      }
    });
  });
})();
