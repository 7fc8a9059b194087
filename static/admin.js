// Clinic admin: small progressive enhancements. Every page works without
// this file; it adds a search-as-you-type foreign-key picker and a
// "select all" checkbox. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";

  // Foreign-key picker: the server renders an id input inside
  // <div class="fk" data-lookup="/admin/lookup/doctor/">. We add a search box
  // whose results set that id. The box is an ARIA combobox (APG's "list
  // autocomplete"): its listbox opens as you type, Arrow keys move into and
  // through the options (out of the Tab order), Enter or a click chooses,
  // Escape or leaving the picker closes it.
  function initPicker(box) {
    var idInput = box.querySelector(".fk-id");
    var label = box.querySelector("[data-fk-label]");
    if (!idInput || !box.dataset.lookup) return;
    var fieldLabel = idInput.labels && idInput.labels[0];
    // The field's name without the required "*": that mark is aria-hidden,
    // but textContent reads it.
    var name = "";
    if (fieldLabel) {
      var copy = fieldLabel.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll("[aria-hidden=true]"), function (n) { n.remove(); });
      name = copy.textContent.trim();
    }
    var search = document.createElement("input");
    search.type = "search";
    search.id = idInput.id + "_search";
    search.className = "fk-search";
    search.placeholder = "Type to search…";
    search.autocomplete = "off";
    search.setAttribute("aria-label", name);
    search.dataset.testid = "fk-search-" + idInput.name;
    // The id input's state is the field's: its help and errors, whether it
    // is invalid or required, go with the box that stands in for it.
    ["aria-describedby", "aria-invalid"].forEach(function (a) {
      if (idInput.hasAttribute(a)) search.setAttribute(a, idInput.getAttribute(a));
    });
    if (idInput.required) search.setAttribute("aria-required", "true");
    var list = document.createElement("ul");
    list.id = idInput.id + "_results";
    list.className = "fk-results";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Matching " + name);
    list.dataset.testid = "fk-results-" + idInput.name;
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-controls", list.id);
    search.setAttribute("aria-expanded", "false");
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "btn fk-clear";
    clear.textContent = "Clear";
    clear.hidden = !idInput.value;
    box.classList.add("js");
    // A submitted value that names nothing (the server found no label for
    // it) stays in sight, next to its error, until a choice replaces it.
    if (idInput.value && !label.textContent.trim()) box.classList.add("fk-unresolved");
    box.insertBefore(search, idInput);
    box.appendChild(clear);
    box.appendChild(list);
    // The field's label now points at the box (a click on it focuses the
    // box); the id input, when it shows, is named on its own.
    if (fieldLabel) fieldLabel.htmlFor = search.id;
    idInput.setAttribute("aria-label", name + " ID");

    var timer = null;
    var seq = 0;

    function open() {
      list.hidden = false;
      search.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      search.setAttribute("aria-expanded", "false");
    }

    function choose(item) {
      idInput.value = String(item.id);
      label.textContent = item.label + (item.detail ? " (" + item.detail + ")" : "");
      search.value = "";
      close();
      clear.hidden = false;
      box.classList.remove("fk-unresolved");
      // The chosen option is gone with the list: focus goes back to the
      // box rather than to the page's start.
      search.focus();
      idInput.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function render(items, more) {
      list.textContent = "";
      if (!items.length) {
        var none = document.createElement("li");
        none.setAttribute("role", "none");
        none.className = "fk-none";
        none.textContent = "No matches";
        list.appendChild(none);
      }
      items.forEach(function (item) {
        // The list item is only a wrapper: the listbox's options are the
        // buttons (ARIA's listbox owns options, not list items).
        var li = document.createElement("li");
        li.setAttribute("role", "none");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "fk-option";
        b.setAttribute("role", "option");
        b.setAttribute("aria-selected", "false");
        b.tabIndex = -1; // Arrow keys reach the options; Tab leaves the picker
        b.dataset.testid = "fk-option";
        b.dataset.id = item.id;
        b.textContent = item.label;
        if (item.detail) {
          var small = document.createElement("small");
          small.textContent = item.detail;
          b.appendChild(small);
        }
        b.addEventListener("click", function () { choose(item); });
        b.addEventListener("focus", function () { b.setAttribute("aria-selected", "true"); });
        b.addEventListener("blur", function () { b.setAttribute("aria-selected", "false"); });
        li.appendChild(b);
        list.appendChild(li);
      });
      if (more) {
        var hint = document.createElement("li");
        hint.setAttribute("role", "none");
        hint.className = "fk-none";
        hint.dataset.testid = "fk-more";
        hint.textContent = "More matches: type more to narrow them.";
        list.appendChild(hint);
      }
      open();
    }

    function lookup() {
      var q = search.value.trim();
      if (!q) { close(); return; }
      var mine = ++seq;
      fetch(box.dataset.lookup + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (r) {
        if (!r.ok) throw new Error("lookup failed: " + r.status);
        return r.json();
      }).then(function (data) {
        if (mine === seq) render(data.results || [], data.more);
      }).catch(function () {
        if (mine === seq) close();
      });
    }

    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 200);
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        // Enter picks the first match instead of submitting the form.
        e.preventDefault();
        var first = list.querySelector(".fk-option");
        if (first && !list.hidden) first.click();
      } else if (e.key === "Escape") {
        close();
      } else if (e.key === "ArrowDown") {
        var opt = list.querySelector(".fk-option");
        if (opt && !list.hidden) { e.preventDefault(); opt.focus(); }
      }
    });
    list.addEventListener("keydown", function (e) {
      var t = e.target;
      if (!t.classList.contains("fk-option")) return;
      var items = Array.prototype.slice.call(list.querySelectorAll(".fk-option"));
      var i = items.indexOf(t);
      if (e.key === "ArrowDown" && i < items.length - 1) { e.preventDefault(); items[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? items[i - 1] : search).focus(); }
      if (e.key === "Home") { e.preventDefault(); items[0].focus(); }
      if (e.key === "End") { e.preventDefault(); items[items.length - 1].focus(); }
      if (e.key === "Escape") { close(); search.focus(); }
    });
    // A press on an option keeps the focus where it is (browsers that do
    // not focus buttons on click would otherwise close the list on
    // focusout before the click arrives).
    list.addEventListener("mousedown", function (e) { e.preventDefault(); });
    box.addEventListener("focusout", function (e) {
      if (!box.contains(e.relatedTarget)) close();
    });
    clear.addEventListener("click", function () {
      idInput.value = "";
      label.textContent = "";
      clear.hidden = true;
      box.classList.remove("fk-unresolved");
      search.focus();
    });
    document.addEventListener("click", function (e) {
      if (!box.contains(e.target)) close();
    });
  }

  // A form that came back with errors opens on their summary, which a
  // screen reader then reads; its links focus their field (the picker's
  // box when the field's id input is hidden).
  function initErrorSummary(summary) {
    summary.focus();
    summary.addEventListener("click", function (e) {
      var link = e.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      var box = document.getElementById(field.id + "_search");
      if (box && !field.getClientRects().length) field = box;
      e.preventDefault();
      field.focus();
    });
  }

  // "Select all" and a live count of the selected rows.
  function initChangelist(form) {
    var all = form.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=ids]"));
    var count = form.querySelector("[data-selected-count]");
    function update() {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (count) count.textContent = n ? n + " of " + boxes.length + " selected" : "";
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  // On a phone the filters sit above the results: closed there, unless a
  // filter is in use, so the search box and the first rows are on the
  // first screen.
  function initFilters(details) {
    var inUse = details.querySelector(".clear-filters"); // "Clear all filters": one is in use
    if (!inUse && window.matchMedia("(max-width: 600px)").matches) details.open = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".filters details"), initFilters);
    Array.prototype.forEach.call(document.querySelectorAll("[data-error-summary]"), initErrorSummary);
    Array.prototype.forEach.call(document.querySelectorAll(".fk[data-lookup]"), initPicker);
    Array.prototype.forEach.call(document.querySelectorAll(".changelist-form"), initChangelist);
  });
})();
