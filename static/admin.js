// Clinic admin: small progressive enhancements. Every page works without
// this file; it adds a search-as-you-type foreign-key picker and a
// "select all" checkbox. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";

  // Foreign-key picker: the server renders an id input inside
  // <div class="fk" data-lookup="/admin/lookup/doctor/">. We add a search box
  // whose results set that id.
  function initPicker(box) {
    var idInput = box.querySelector(".fk-id");
    var label = box.querySelector("[data-fk-label]");
    if (!idInput || !box.dataset.lookup) return;
    var search = document.createElement("input");
    search.type = "search";
    search.className = "fk-search";
    search.placeholder = "Type to search…";
    search.autocomplete = "off";
    search.setAttribute("aria-label", "Search " + (idInput.labels && idInput.labels[0] ? idInput.labels[0].textContent.trim() : ""));
    search.dataset.testid = "fk-search-" + idInput.name;
    var list = document.createElement("ul");
    list.className = "fk-results";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    list.dataset.testid = "fk-results-" + idInput.name;
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "btn fk-clear";
    clear.textContent = "Clear";
    clear.hidden = !idInput.value;
    box.classList.add("js");
    box.insertBefore(search, idInput);
    box.appendChild(clear);
    box.appendChild(list);

    var timer = null;
    var seq = 0;

    function choose(item) {
      idInput.value = String(item.id);
      label.textContent = item.label + (item.detail ? " (" + item.detail + ")" : "");
      search.value = "";
      list.hidden = true;
      clear.hidden = false;
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
        b.dataset.testid = "fk-option";
        b.dataset.id = item.id;
        b.textContent = item.label;
        if (item.detail) {
          var small = document.createElement("small");
          small.textContent = item.detail;
          b.appendChild(small);
        }
        b.addEventListener("click", function () { choose(item); });
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
      list.hidden = false;
    }

    function lookup() {
      var q = search.value.trim();
      if (!q) { list.hidden = true; return; }
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
        if (mine === seq) list.hidden = true;
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
        list.hidden = true;
      } else if (e.key === "ArrowDown") {
        var opt = list.querySelector(".fk-option");
        if (opt) { e.preventDefault(); opt.focus(); }
      }
    });
    list.addEventListener("keydown", function (e) {
      var t = e.target;
      if (!t.classList.contains("fk-option")) return;
      var items = Array.prototype.slice.call(list.querySelectorAll(".fk-option"));
      var i = items.indexOf(t);
      if (e.key === "ArrowDown" && i < items.length - 1) { e.preventDefault(); items[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? items[i - 1] : search).focus(); }
      if (e.key === "Escape") { list.hidden = true; search.focus(); }
    });
    clear.addEventListener("click", function () {
      idInput.value = "";
      label.textContent = "";
      clear.hidden = true;
      search.focus();
    });
    document.addEventListener("click", function (e) {
      if (!box.contains(e.target)) list.hidden = true;
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
    Array.prototype.forEach.call(document.querySelectorAll(".fk[data-lookup]"), initPicker);
    Array.prototype.forEach.call(document.querySelectorAll(".changelist-form"), initChangelist);
  });
})();
