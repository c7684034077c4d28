// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // "New picture": a button that draws a new captcha in place (the link beside it, for
  // pages without scripts, reloads the whole page instead). The answer field is emptied and
  // focused, and a status line tells screen readers that the picture changed.
  document.querySelectorAll("[data-captcha-refresh]").forEach(function (button) {
    var box = button.closest(".captcha");
    var img = box && box.querySelector("[data-captcha]");
    if (!img) { return; }
    var link = box.querySelector("[data-captcha-reload]");
    if (link) { link.hidden = true; }
    button.hidden = false;
    button.addEventListener("click", function () {
      img.src = img.src.split("?")[0] + "?t=" + Date.now();
      var input = box.querySelector("input[type=text], input:not([type])");
      var status = box.querySelector("[data-captcha-status]");
      if (status) { status.textContent = button.getAttribute("data-done") || ""; }
      if (input) { input.value = ""; input.focus(); }
    });
  });
  // Proof of work (<altcha-widget auto=onload>): it starts when the page loads and takes
  // about a second. A form sent before it is done waits for it, then goes by itself. The
  // widget shows and announces nothing (display=invisible), so our status line (role=status,
  // beside it) says that the form is waiting, or that the work could not be done.
  document.querySelectorAll("altcha-widget[data-pow]").forEach(function (widget) {
    var form = widget.closest("form");
    if (!form) { return; }
    var status = form.querySelector("[data-pow-status]");
    var say = function (what) { if (status) { status.textContent = status.getAttribute(what) || ""; } };
    var verified = false;
    var failed = false;  // no work to wait for: the server then says what is missing
    var waiting = null;
    widget.addEventListener("statechange", function (event) {
      var state = event.detail && event.detail.state;
      verified = state === "verified";
      failed = state === "error";
      if (failed) { say("data-failed"); } else if (status && !waiting) { status.textContent = ""; }
      if ((verified || failed) && waiting) {
        var submitter = waiting.submitter;
        waiting = null;
        if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      }
    });
    form.addEventListener("submit", function (event) {
      if (verified || failed) { return; }
      event.preventDefault();
      waiting = { submitter: event.submitter };
      say("data-waiting");
    });
  });
  // Resend countdown: the button stays disabled until the server's cooldown is over.
  document.querySelectorAll("[data-countdown]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-countdown"), 10) || 0;
    var label = button.getAttribute("data-countdown-label") || "{s}";
    var ready = button.getAttribute("data-ready-label") || button.textContent;
    if (left <= 0) { return; }
    button.disabled = true;
    var tick = function () {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-ready-text") || ready;
        return;
      }
      button.textContent = label.replace("{s}", left);
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });
  // Code validity: count the server's figure down as m:ss. The timer is role=timer (never
  // announced by itself); when it runs out the clock line is hidden and the status line,
  // a polite live region, says once that the code has expired.
  document.querySelectorAll("[data-code-clock]").forEach(function (line) {
    var left = parseInt(line.getAttribute("data-code-clock"), 10) || 0;
    var clock = line.querySelector(".clock");
    var status = line.parentNode.querySelector("[data-code-expired]");
    if (left <= 0 || !clock) { return; }
    var ends = Date.now() + left * 1000;
    var show = function () {
      var rest = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
      if (rest <= 0) {
        line.hidden = true;
        if (status) { status.textContent = status.getAttribute("data-code-expired"); }
        return;
      }
      var seconds = rest % 60;
      clock.textContent = Math.floor(rest / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
      setTimeout(show, ((ends - Date.now()) % 1000 || 1000) + 5);
    };
    show();
  });
  // Language switch: carry what is typed in the page's form now (the server knows only what
  // was last posted). The same harmless fields as web/carry.py; never passwords or codes.
  var CARRY = ["login", "email", "username", "invite_code", "new_email", "remember"];
  document.querySelectorAll("form[data-lang-switch]").forEach(function (switcher) {
    switcher.addEventListener("submit", function () {
      var form = document.querySelector("main form[method=post]");
      if (!form) { return; }
      CARRY.forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (!field || field.type === "password" || field.type === "hidden") { return; }
        var value = field.type === "checkbox" ? (field.checked ? "y" : "") : field.value;
        var carried = switcher.querySelector('input[name="carry-' + name + '"]');
        if (!carried) {
          carried = document.createElement("input");
          carried.type = "hidden";
          carried.name = "carry-" + name;
          switcher.appendChild(carried);
        }
        carried.value = value;
      });
    });
  });
  // Show-password buttons: shown only here (without scripts the field just works); the
  // button keeps its name and says its state with aria-pressed. Before the form is sent the
  // field is a password field again, so no browser keeps the text as ordinary form input.
  document.querySelectorAll("[data-reveal]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
        button.setAttribute("aria-pressed", "false");
      });
    }
  });
  // Error summary: focus it when the page opens (a screen reader reads it, the keyboard starts
  // there); its links move focus into the field they name.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  document.querySelectorAll("a[data-field-link]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      field.focus();
      var label = document.querySelector('label[for="' + field.id + '"]');
      (label || field).scrollIntoView({block: "center"});
    });
  });
  // Confirm before destructive admin actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
