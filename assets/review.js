// The review page (src/review_page.c): filter, sort, keep/drop, keyboard, Apply.
// Everything it shows was rendered (and escaped) by the server; this only
// reads data- attributes and the page's JSON, and sets text, never HTML.
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("gm-meta").textContent);
  var list = document.getElementById("list");
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card, article.task"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.file"));
  var q = document.getElementById("q");
  var fstatus = document.getElementById("fstatus");
  var froute = document.getElementById("froute");
  var sort = document.getElementById("sort");
  var help = document.getElementById("help");
  var applyBtn = document.getElementById("apply");
  var msg = document.getElementById("msg");
  var cmdline = document.getElementById("cmdline");
  var cur = null;
  var busy = false;

  function decidable(c) { return !!c.querySelector(".kd"); }
  function dropping(c) { return c.classList.contains("dropping"); }
  function visible(c) { return !c.classList.contains("hidden") && !c.parentNode.classList.contains("hidden"); }

  function shellQuote(s) { return "'" + s.replace(/'/g, "'\\''") + "'"; }

  function update() {
    var specs = cards.filter(function (c) { return decidable(c) && dropping(c); })
      .map(function (c) { return c.dataset.spec; });
    document.getElementById("n-todrop").textContent = String(specs.length);
    if (applyBtn) {
      applyBtn.disabled = busy || specs.length === 0;
      applyBtn.textContent = specs.length ? "Drop " + specs.length + " function" +
        (specs.length === 1 ? "" : "s") : "Apply";
    }
    if (cmdline) {
      cmdline.textContent = specs.length ? "git monitor review " + shellQuote(meta.branch) + " " +
        specs.map(function (s) { return "--drop " + shellQuote(s); }).join(" ")
        : "(mark functions drop to build the command)";
    }
    return specs;
  }

  function decide(c, drop) {
    if (!c || !decidable(c)) return;
    c.classList.toggle("dropping", drop);
    c.querySelector(".kd .k").classList.toggle("on", !drop);
    c.querySelector(".kd .d").classList.toggle("on", drop);
    c.querySelector(".kd .k").setAttribute("aria-pressed", String(!drop));
    c.querySelector(".kd .d").setAttribute("aria-pressed", String(drop));
    c.dataset.decision = drop ? "drop" : "keep";
    update();
  }

  function setCur(c, scroll) {
    if (cur) cur.classList.remove("cur");
    cur = c;
    if (!c) return;
    c.classList.add("cur");
    if (scroll) {
      c.focus({ preventScroll: true });
      c.scrollIntoView({ block: "nearest" });
      var top = c.getBoundingClientRect().top, bar = document.getElementById("top").offsetHeight + 32;
      if (top < bar) window.scrollBy(0, top - bar);
    }
  }

  function shown() { return cards.filter(visible); }

  function move(step) {
    var v = shown();
    if (!v.length) return;
    var i = cur ? v.indexOf(cur) : -1;
    i = i < 0 ? (step > 0 ? 0 : v.length - 1) : Math.max(0, Math.min(v.length - 1, i + step));
    setCur(v[i], true);
  }

  function matches(c) {
    var text = q.value.trim().toLowerCase();
    var st = fstatus.value, route = froute.value;
    var isTask = c.classList.contains("task");
    if (text) {
      var hay = (c.dataset.path + ":" + c.dataset.name).toLowerCase();
      var words = text.split(/\s+/);
      for (var k = 0; k < words.length; k++)
        if (hay.indexOf(words[k]) < 0) return false;
    }
    if (route && c.dataset.route !== route) return false;
    if (st === "not") return isTask;
    if (st && isTask) return false;
    if (st === "todrop") return dropping(c);
    if (st === "applied") return c.dataset.status === "applied" && !dropping(c);
    if (st) return c.dataset.status === st;
    return true;
  }

  function filter() {
    var n = 0;
    cards.forEach(function (c) {
      var ok = matches(c);
      c.classList.toggle("hidden", !ok);
      n += ok;
    });
    sections.forEach(function (s) {
      var v = s.querySelectorAll("article.card:not(.hidden)").length;
      s.classList.toggle("hidden", v === 0);
      var all = s.querySelectorAll("article.card").length;
      s.querySelector(".count").textContent = (v === all ? all : v + " of " + all) + " function" +
        (all === 1 ? "" : "s");
    });
    var un = document.getElementById("unapplied");
    if (un) un.classList.toggle("hidden", un.querySelectorAll("article.task:not(.hidden)").length === 0);
    document.getElementById("shown").textContent = n === cards.length ? cards.length + " shown" :
      n + " of " + cards.length + " shown";
    if (cur && !visible(cur)) setCur(null);
  }

  function key(c) {
    var by = sort.value;
    if (by === "file") return -Number(c.dataset.i || 0);
    return Number(c.dataset[by] || 0);
  }

  function resort() {
    var by = sort.value;
    sections.forEach(function (s) {
      var cs = Array.prototype.slice.call(s.querySelectorAll("article.card"));
      cs.sort(function (a, b) { return key(b) - key(a) || a.dataset.i - b.dataset.i; });
      cs.forEach(function (c) { s.appendChild(c); });
      s.dataset.key = cs.length ? (by === "file" ? -Number(cs[0].dataset.i) : key(cs[0])) : 0;
    });
    var ordered = sections.slice().sort(function (a, b) { return b.dataset.key - a.dataset.key; });
    var tail = document.getElementById("unapplied");
    ordered.forEach(function (s) { list.insertBefore(s, tail); });
    cards = Array.prototype.slice.call(document.querySelectorAll("article.card, article.task"));
  }

  list.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    var c = e.target.closest("article");
    if (b && b.closest(".kd")) {
      decide(c, b.classList.contains("d"));
      setCur(c, false);
      return;
    }
    if (b && (b.classList.contains("keepall") || b.classList.contains("dropall"))) {
      var drop = b.classList.contains("dropall");
      b.closest("section").querySelectorAll("article.card").forEach(function (x) {
        if (visible(x)) decide(x, drop);
      });
      return;
    }
    var fold = e.target.closest("tr.fold");
    if (fold) {
      for (var r = fold.nextElementSibling; r && r.classList.contains("h"); r = r.nextElementSibling)
        r.classList.remove("h");
      fold.remove();
    }
    if (c && !e.target.closest("summary, a")) setCur(c, false);
  });

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t === q || t.tagName === "SELECT" || t.tagName === "INPUT") {
      if (e.key === "Escape" || (e.key === "Enter" && t === q)) {
        t.blur();
        if (e.key === "Enter") move(1);
        e.preventDefault();
      }
      return;
    }
    if (!help.hidden && (e.key === "Escape" || e.key === "?")) { help.hidden = true; e.preventDefault(); return; }
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "y": case "n":
        if (!cur) move(1);
        if (cur && decidable(cur)) { decide(cur, e.key === "n"); move(1); }
        break;
      case "/": q.focus(); q.select(); break;
      case "?": help.hidden = false; break;
      case "Escape": setCur(null); break;
      default: return;
    }
    e.preventDefault();
  });

  [q, fstatus, froute].forEach(function (el) { el.addEventListener("input", filter); });
  sort.addEventListener("change", function () { resort(); filter(); });
  help.addEventListener("click", function (e) { if (e.target === help) help.hidden = true; });

  var copy = document.getElementById("copy");
  if (copy) copy.addEventListener("click", function () {
    var text = cmdline.textContent;
    var done = function () { copy.textContent = "copied"; setTimeout(function () { copy.textContent = "copy"; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
    else {
      var r = document.createRange();
      r.selectNodeContents(cmdline);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
    }
  });

  if (applyBtn) applyBtn.addEventListener("click", function () {
    var specs = update();
    if (!specs.length || busy) return;
    var token = new URLSearchParams(location.search).get("token") || "";
    busy = true;
    update();
    msg.className = "";
    msg.textContent = "writing the drop commit…";
    fetch("apply?token=" + encodeURIComponent(token), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Monitor-Token": token },
      body: JSON.stringify({ tip: meta.tip, drop: specs }),
      cache: "no-store",
      credentials: "omit",
    }).then(function (res) {
      return res.json().then(function (j) { return { ok: res.ok, j: j }; },
        function () { return { ok: false, j: { error: "the server answered " + res.status } }; });
    }).then(function (r) {
      if (!r.ok) throw new Error(r.j.error || "failed");
      msg.textContent = "dropped " + r.j.dropped + " function" + (r.j.dropped === 1 ? "" : "s") +
        " in " + r.j.tip.slice(0, 12) + "; reloading…";
      cards.forEach(function (c) { c.classList.remove("dropping"); });
      try {
        sessionStorage.setItem("gm-msg", "dropped " + r.j.dropped + " function" + (r.j.dropped === 1 ? "" : "s") +
          " in " + r.j.tip.slice(0, 12) + " (undo: git monitor review --undo-drop)");
      } catch (e) { /* no storage: no message */ }
      window.location.reload();
    }).catch(function (err) {
      busy = false;
      msg.className = "err";
      msg.textContent = String(err.message || err);
      update();
    });
  });

  window.addEventListener("beforeunload", function (e) {
    if (!busy && applyBtn && update().length) { e.preventDefault(); e.returnValue = ""; }
  });

  if (msg) {
    try {
      msg.textContent = sessionStorage.getItem("gm-msg") || "";
      sessionStorage.removeItem("gm-msg");
    } catch (e) { /* no storage */ }
  }
  // the file headers stick right under the bar, whatever its height
  function barHeight() {
    document.documentElement.style.setProperty("--toph", document.getElementById("top").offsetHeight + "px");
  }
  window.addEventListener("resize", barHeight);
  if (window.ResizeObserver) new ResizeObserver(barHeight).observe(document.getElementById("top"));
  barHeight();
  update();
  filter();
})();
