// Drives the review page in Debian's chromium (playwright-core) the way a
// person would, and prints what it saw as JSON for
// tests/integration/test_review_web.py, which asserts on it and on git.
//
//   node review_page.js live   URL ARTIFACTS_DIR FILTER SPEC_BY_KEYS SPEC_BY_MOUSE
//   node review_page.js static FILE_URL ARTIFACTS_DIR SPEC SPEC
//
// Environment: GM_CHROMIUM (default /usr/bin/chromium), NODE_PATH holding
// playwright-core.
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

async function facts(page) {
  return page.evaluate(() => {
    const q = (s) => Array.from(document.querySelectorAll(s));
    const visible = (e) => !e.classList.contains("hidden") && !e.closest("section.hidden");
    return {
      title: document.title,
      cards: q("article.card").length,
      visibleCards: q("article.card").filter(visible).map((c) => c.dataset.spec),
      tables: q("article.card table.sbs").length,
      // both panes of a changed row: the removed and the added side
      delCells: q("table.sbs td.c.del").length,
      addCells: q("table.sbs td.c.add").length,
      keywords: q("table.sbs td.c span.kw").length,
      functions: q("table.sbs td.c span.fn").length,
      strings: q("table.sbs td.c span.st").length,
      wordMarks: q("table.sbs td.c .w").length,
      tasks: q("article.task").map((t) => ({ name: t.querySelector(".nm").textContent,
        answer: (t.querySelector(".answer pre") || {}).textContent || null })),
      statuses: Object.fromEntries(q("article.card").map((c) => [c.dataset.spec, c.dataset.status])),
      dropping: q("article.card.dropping").map((c) => c.dataset.spec),
      toDrop: document.getElementById("n-todrop").textContent,
      dropped: document.getElementById("n-dropped").textContent,
      cmdline: (document.getElementById("cmdline") || {}).textContent || null,
      branchText: document.querySelector(".branch").textContent,
      msg: (document.getElementById("msg") || {}).textContent || "",
      pwned: window.__pwned === true,
      scripts: q("script").length,
      codeText: q("table.sbs td.c").map((td) => td.textContent).join("\n"),
    };
  });
}

async function main() {
  const [mode, url, artifacts, ...rest] = process.argv.slice(2);
  const out = { dialogs: [], errors: [], console: [] };
  const browser = await chromium.launch({
    executablePath: process.env.GM_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // root in a container has no user namespaces for the sandbox
    args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, colorScheme: "light" });
    const page = await context.newPage();
    page.on("dialog", (d) => { out.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on("pageerror", (e) => out.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") out.console.push(m.text()); });
    await page.goto(url);
    out.before = await facts(page);

    if (mode === "live") {
      const [filter, byKeys, byMouse] = rest;
      // filter by name, then by status, then clear
      await page.keyboard.press("/");
      await page.keyboard.type(filter);
      out.filtered = (await facts(page)).visibleCards;
      await page.fill("#q", "");
      await page.selectOption("#fstatus", "not");
      out.notApplied = await page.evaluate(() => Array.from(document.querySelectorAll("article.task"))
        .filter((t) => !t.classList.contains("hidden")).length);
      out.notAppliedCards = (await facts(page)).visibleCards.length;
      await page.selectOption("#fstatus", "");
      // by route: the run was local only
      await page.selectOption("#froute", "claude");
      out.claudeCards = (await facts(page)).visibleCards.length;
      await page.selectOption("#froute", "local");
      out.localCards = (await facts(page)).visibleCards.length;
      await page.selectOption("#froute", "");
      await page.click("body", { position: { x: 5, y: 300 } });
      // sort by size: the biggest function first
      await page.selectOption("#sort", "size");
      out.sortedFirst = (await facts(page)).visibleCards[0];
      await page.selectOption("#sort", "file");
      // drop one with the keyboard: j to it, n to drop it
      const order = (await facts(page)).visibleCards;
      for (let i = 0; i <= order.indexOf(byKeys); i++) await page.keyboard.press("j");
      await page.keyboard.press("n");
      // and one with the mouse
      await page.click(`article.card[data-spec="${byMouse}"] .kd button.d`);
      out.toggled = await facts(page);
      // unfold a folded stretch, if any
      const fold = await page.$("tr.fold");
      if (fold) {
        await fold.click();
      }
      await page.locator(`article.card[data-spec="${byKeys}"]`).scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(artifacts, "review-page.png") });
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({ path: path.join(artifacts, "review-page-dark.png") });
      await page.emulateMedia({ colorScheme: "light" });
      // Apply: one commit, then the page shows the branch as it is now
      await Promise.all([page.waitForEvent("load", { timeout: 30000 }), page.click("#apply")]);
      await page.waitForSelector("#list");
      out.after = await facts(page);
      await page.screenshot({ path: path.join(artifacts, "review-page-applied.png"), fullPage: false });
    } else {
      const [a, b] = rest;
      // a whole file at once: drop all, then keep all again
      const file = b.split(":")[0];
      await page.click(`section.file[data-path="${file}"] button.dropall`);
      out.dropAll = await facts(page);
      await page.click(`section.file[data-path="${file}"] button.keepall`);
      out.keepAll = await facts(page);
      await page.click(`article.card[data-spec="${a}"] .kd button.d`);
      await page.click(`article.card[data-spec="${b}"] .kd button.d`);
      out.toggled = await facts(page);
      // a request of any kind from the file would be a leak
      out.requests = [];
      page.on("request", (r) => out.requests.push(r.url()));
      await page.waitForTimeout(200);
      await page.screenshot({ path: path.join(artifacts, "review-page-static.png") });
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
