// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // "New picture": reload the captcha image in place instead of the whole page.
  document.querySelectorAll("[data-captcha-refresh]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var img = link.parentNode.querySelector("[data-captcha]");
      if (!img) { return; }
      event.preventDefault();
      img.src = img.src.split("?")[0] + "?t=" + Date.now();
      var input = link.parentNode.querySelector("input");
      if (input) { input.value = ""; input.focus(); }
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
  // Confirm before destructive admin actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
