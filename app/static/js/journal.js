/* The journal grid: the server sends the students' rows and the lesson headers, this script draws the
   cells from the embedded JSON (packed by views/journal.packed_cells) and the headers' tooltips. A digit typed on a cell saves that mark at once and goes down; letters open the cell's
   editor (attendance: Н, Б, УП, ОП); a tap or click opens the editor with the numeric keypad. Each
   column has one work type (/ next, * previous), remembered in the browser. */
(function () {
  "use strict";
  var root = document.getElementById("journal");
  if (!root) { return; }
  var grid = document.getElementById("journal-grid"), body = grid.tBodies[0];
  var saveUrl = root.dataset.saveUrl, lessonUrl = root.dataset.lessonUrl.replace(/0$/, "");
  var presentUrl = root.dataset.presentUrl.replace(/0$/, "");
  var csrf = root.dataset.csrf, period = root.dataset.period;
  function json(id) { return JSON.parse(document.getElementById(id).textContent); }
  var lessons = {};
  json("journal-lessons").forEach(function (l) { lessons[l.id] = l; });
  var cells = unpack(json("journal-cells")), ATTENDANCE = json("journal-attendance-keys");
  var workTypes = json("journal-work-types"), authors = json("journal-authors"), MSG = json("journal-messages");
  var wtSelect = document.getElementById("work-type"), toastBox = document.getElementById("journal-toast");
  var currentLesson = null, toastTimer = null;

  function unpack(packed) {
    var out = {}, users = packed.u;
    Object.keys(packed.c).forEach(function (k) {
      var c = packed.c[k], a = c.a, lessonDay = Date.parse(lessons[k.split(":")[1]].date);
      out[k] = {marks: (c.m || []).map(function (m) {
        var date = m[5] === null ? null : new Date(lessonDay + m[5] * 86400000).toISOString().slice(0, 10);
        return {id: m[0], value: m[1], work_type_id: m[2], version: m[3], author: users[m[4]], date: date, comment: m[6] || ""};
      }), attendance: a ? {id: a[0], code: a[1], version: a[2]} : null};
    });
    return out;
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(data)
    }).then(function (r) { return r.json().then(function (j) { j.status = r.status; return j; }); });
  }
  function toast(message, kind) {
    toastBox.textContent = message; toastBox.className = "journal-toast " + (kind || "error"); toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastBox.hidden = true; }, 6000);
  }
  function day(iso) { return iso.split("-").reverse().join("."); }
  function header(lessonId) { return grid.querySelector('th[data-lesson="' + lessonId + '"]'); }
  function cellAt(row, col) {
    var tr = body.rows[row];
    return tr ? tr.cells[col + 2] : null;
  }
  function pos(td) { return {row: td.parentNode.sectionRowIndex, col: td.cellIndex - 2}; }
  function key(td) { return td.dataset.student + ":" + td.dataset.lesson; }
  function data(td) {
    var cell = cells[key(td)] || {marks: [], attendance: null};
    return {marks: cell.marks.slice(), attendance: cell.attendance};
  }

  /* The work type of each column: remembered per lesson in the browser, else the column's default. */
  function typeOf(id) { return workTypes.filter(function (w) { return w.id === id; })[0]; }
  function abbreviation(w) {
    var words = w.name.split(/\s+/).filter(function (x) { return x.length > 2; });
    var short = words.length > 1 ? words.map(function (x) { return x[0].toUpperCase(); }).join("") : w.name.slice(0, 4);
    return short + "·" + w.weight;
  }
  function workType(lessonId) {
    var stored = parseInt(localStorage.getItem("journal-wt:" + lessonId), 10);
    return typeOf(stored) ? stored : parseInt(header(lessonId).dataset.wt, 10);
  }
  function showWorkType(lessonId) {
    var w = typeOf(workType(lessonId)), label = grid.querySelector('span.wt[data-lesson="' + lessonId + '"]');
    if (!w || !label) { return; }
    label.textContent = abbreviation(w); label.title = w.name + " (" + MSG.weight + " " + w.weight + ")";
    if (+lessonId === currentLesson) { wtSelect.value = w.id; }
  }
  function setWorkType(lessonId, id) {
    localStorage.setItem("journal-wt:" + lessonId, id);
    showWorkType(lessonId);
    var w = typeOf(id);
    toast(MSG.work_type.replace("{day}", day(lessons[lessonId].date)).replace("{name}", w.name), "info");
  }
  function cycleWorkType(lessonId, step) {
    var ids = workTypes.map(function (w) { return w.id; });
    var i = ids.indexOf(workType(lessonId));
    setWorkType(lessonId, ids[(i + step + ids.length) % ids.length]);
  }
  function selectLesson(lessonId) {
    currentLesson = +lessonId;
    wtSelect.value = workType(lessonId);
    document.getElementById("work-type-day").textContent = day(lessons[lessonId].date);
  }
  wtSelect.addEventListener("change", function () {
    if (currentLesson) { setWorkType(currentLesson, parseInt(wtSelect.value, 10)); }
  });

  function render(td, cell) {
    cells[key(td)] = cell;
    draw(td.querySelector(".view"), cell);
  }
  function draw(view, cell) {
    view.textContent = "";
    cell.marks.forEach(function (m) {
      var b = document.createElement("b"); b.className = "mark m" + m.value; b.textContent = m.value; view.appendChild(b);
    });
    if (cell.attendance) {
      var i = document.createElement("i"); i.className = "att"; i.textContent = cell.attendance.code; view.appendChild(i);
    }
  }
  /* The cells of each student's row, in the order of the lesson headers and with their classes. */
  function drawCells() {
    var heads = Array.prototype.slice.call(grid.tHead.querySelectorAll("th.col-lesson"));
    var columns = heads.map(function (th) {
      var l = lessons[th.dataset.lesson];
      th.title = l.topic + (l.locked ? (l.topic ? "\n" : "") + l.locked : "");
      return {id: th.dataset.lesson, css: th.className.replace("col-lesson", "cell")};
    });
    Array.prototype.forEach.call(body.rows, function (tr) {
      var sid = tr.dataset.student, row = document.createDocumentFragment();
      columns.forEach(function (col) {
        var td = document.createElement("td"), view = document.createElement("span"), cell = cells[sid + ":" + col.id];
        td.className = col.css; td.tabIndex = 0; td.dataset.student = sid; td.dataset.lesson = col.id;
        view.className = "view"; td.appendChild(view);
        if (cell) { draw(view, cell); }
        row.appendChild(td);
      });
      tr.insertBefore(row, tr.querySelector("td.col-avg"));
    });
  }
  drawCells();

  function markTitle(m) {
    var w = typeOf(m.work_type_id) || {name: "", weight: ""};
    var parts = [w.name + " (" + MSG.weight + " " + w.weight + ")", m.date ? day(m.date) : "", authors[m.author] || m.author];
    if (m.comment) { parts.push(MSG.comment + ": " + m.comment); }
    return parts.filter(Boolean).join(" · ");
  }
  /* Tooltips are made when hovered: the marks' work type, weight, date, author, comment; a locked column's reason. */
  grid.addEventListener("mouseover", function (e) {
    var td = e.target.closest("td.cell");
    if (!td) { return; }
    var b = e.target.closest("b.mark");
    if (b) {
      var index = Array.prototype.indexOf.call(td.querySelectorAll("b.mark"), b), m = data(td).marks[index];
      if (m) { b.title = markTitle(m); }
    } else if (!td.classList.contains("error")) {
      td.title = lessons[td.dataset.lesson].locked || "";
    }
  });
  function showError(td, message) { td.classList.add("error"); td.title = message; toast(message, "error"); }
  function clearError(td) { td.classList.remove("error"); td.title = ""; }
  function setAverage(studentId, avg) {
    var c = grid.querySelector('td.col-avg[data-avg="' + studentId + '"]');
    if (c) { c.textContent = avg === null || avg === undefined ? "" : avg.toFixed(2); }
  }

  /* Save what was typed: a mark 1–5 of the column's work type replacing the cell's mark, an attendance
     code, or (clearing) nothing: the cell's marks first, then its attendance. */
  function save(td, text, clearing) {
    var cell = data(td), wt = workType(td.dataset.lesson), raw = text.trim().toLowerCase();
    var seen = cell.marks.map(function (m) { return [m.id, m.version]; });
    var req = {lesson_id: +td.dataset.lesson, student_id: +td.dataset.student, period_id: +period};
    if (clearing) {
      if (cell.marks.length) { req.kind = "mark"; req.work_type_id = cell.marks[0].work_type_id; req.value = null; req.seen = seen; }
      else if (cell.attendance) { req.kind = "attendance"; req.code = null; req.version = cell.attendance.version; }
      else { return; }
    } else if (ATTENDANCE[raw]) {
      req.kind = "attendance"; req.code = ATTENDANCE[raw]; req.version = cell.attendance ? cell.attendance.version : null;
    } else {
      req.kind = "mark"; req.work_type_id = wt; req.value = /^-?\d+$/.test(raw) ? parseInt(raw, 10) : raw; req.seen = seen;
    }
    td.classList.add("saving");
    return post(saveUrl, req).then(function (res) {
      td.classList.remove("saving");
      if (res.status === 200) {
        clearError(td);
        if (req.kind === "mark") { cell.marks = res.cell ? [res.cell] : []; } else { cell.attendance = res.cell; }
        render(td, cell);
        if ("average" in res) { setAverage(td.dataset.student, res.average); }
        if (res.warning) { td.title = res.warning; toast(res.warning, "warning"); }
      } else if (res.status === 409) {
        if (req.kind === "mark") { cell.marks = res.marks || (res.current ? [res.current] : []); } else { cell.attendance = res.current; }
        render(td, cell); showError(td, res.error);
      } else {
        showError(td, res.error || MSG.failed);
      }
    }).catch(function () { td.classList.remove("saving"); showError(td, MSG.network); });
  }

  function move(td, dRow, dCol, edit) {
    var p = pos(td), next = cellAt(p.row + dRow, p.col + dCol);
    if (!next) { td.focus(); return; }
    next.focus();
    if (edit && !locked(next, true)) { startEdit(next, "", true); }
  }
  function locked(td, quiet) {
    var reason = lessons[td.dataset.lesson].locked;
    if (reason && !quiet) { toast(reason, "error"); }
    return !!reason;
  }
  function startEdit(td, initial, tapped) {
    if (td.querySelector("input") || locked(td)) { return; }
    var input = document.createElement("input");
    input.type = "text"; input.className = "cell-input"; input.value = initial || ""; input.maxLength = 4;
    input.setAttribute("inputmode", "numeric"); input.setAttribute("enterkeyhint", "next");
    td.appendChild(input); input.focus();
    var done = false;
    function finish(commit, dRow, dCol) {
      if (done) { return; } done = true;
      var text = input.value; input.remove();
      if (commit && text.trim() !== "") { save(td, text, false); }
      if (dRow || dCol) { move(td, dRow, dCol, tapped && dRow === 1); } else { td.focus(); }
    }
    input.addEventListener("keydown", function (e) {
      var k = e.key, moves = {Enter: [1, 0], ArrowDown: [1, 0], ArrowUp: [-1, 0], ArrowRight: [0, 1], ArrowLeft: [0, -1]};
      if (k === "Tab") { moves.Tab = [0, e.shiftKey ? -1 : 1]; }
      if (moves[k]) { e.preventDefault(); finish(true, moves[k][0], moves[k][1]); }
      else if (k === "Escape") { e.preventDefault(); finish(false, 0, 0); }
      e.stopPropagation();
    });
    input.addEventListener("blur", function () { finish(true, 0, 0); });
  }

  grid.addEventListener("focusin", function (e) {
    var td = e.target.closest("td.cell");
    if (td) { selectLesson(td.dataset.lesson); }
  });
  grid.addEventListener("keydown", function (e) {
    var td = e.target.closest("td.cell");
    if (!td || e.target !== td) { return; }
    var k = e.key, moves = {ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], Enter: [1, 0], ArrowUp: [-1, 0]};
    if (k === "Tab") { moves.Tab = [0, e.shiftKey ? -1 : 1]; }
    if (moves[k]) { e.preventDefault(); move(td, moves[k][0], moves[k][1]); }
    else if (k === "/" || k === "*") { e.preventDefault(); cycleWorkType(td.dataset.lesson, k === "/" ? 1 : -1); }
    else if (k === "Delete" || k === "Backspace") { e.preventDefault(); if (!locked(td)) { save(td, "", true); } }
    else if (/^[0-9]$/.test(k)) { e.preventDefault(); if (!locked(td)) { save(td, k, false); move(td, 1, 0); } }
    else if (k.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); startEdit(td, k); }
  });
  grid.addEventListener("click", function (e) {
    var td = e.target.closest("td.cell");
    if (td && !td.querySelector("input")) { startEdit(td, "", true); }
  });

  /* «Все присутствуют»: the chosen column's absences are cleared in one request. */
  document.getElementById("all-present").addEventListener("click", function () {
    if (!currentLesson) { toast(MSG.pick, "info"); return; }
    var lessonId = currentLesson, seen = {}, tds = body.querySelectorAll('td.cell[data-lesson="' + lessonId + '"]');
    if (locked(tds[0] || {dataset: {lesson: lessonId}})) { return; }
    tds.forEach(function (td) { var a = data(td).attendance; if (a) { seen[td.dataset.student] = a.version; } });
    post(presentUrl + lessonId, {seen: seen}).then(function (res) {
      if (res.status !== 200) { toast(res.error || MSG.failed, "error"); return; }
      tds.forEach(function (td) { var cell = data(td); cell.attendance = null; render(td, cell); });
      lessons[lessonId].status = lessons[lessonId].status === "planned" ? "held" : lessons[lessonId].status;
      toast(MSG.present.replace("{day}", day(lessons[lessonId].date)), "info");
    }).catch(function () { toast(MSG.network, "error"); });
  });
  document.getElementById("journal-switch").addEventListener("change", function (e) {
    window.location.href = e.target.value;
  });

  /* The lesson editor opened from a column header. */
  var editor = document.getElementById("lesson-editor"), current = null;
  function field(name) { return editor.querySelector('[name="' + name + '"]'); }
  grid.addEventListener("click", function (e) {
    var a = e.target.closest("a.lesson-date");
    if (!a) { return; }
    e.preventDefault();
    current = lessons[a.dataset.lesson];
    document.getElementById("lesson-editor-date").textContent = day(current.date);
    field("topic").value = current.topic; field("type").value = current.type;
    field("status").value = current.status === "held" ? "held" : "planned";
    field("homework").value = current.homework; field("homework_due").value = current.homework_due || "";
    editor.querySelector(".lesson-editor-error").textContent = "";
    editor.hidden = false; field("topic").focus();
  });
  document.getElementById("lesson-close").addEventListener("click", function () { editor.hidden = true; });
  document.getElementById("lesson-save").addEventListener("click", function () {
    var req = {topic: field("topic").value, type: field("type").value, status: field("status").value,
               homework: field("homework").value, homework_due: field("homework_due").value};
    post(lessonUrl + current.id, req).then(function (res) {
      if (res.status === 200) {
        Object.assign(current, req); editor.hidden = true;
        header(current.id).title = req.topic;
      } else { editor.querySelector(".lesson-editor-error").textContent = res.error || MSG.failed; }
    });
  });

  /* Open at the lesson of the day: highlighted, scrolled into view, its first cell focused. */
  Object.keys(lessons).forEach(showWorkType);
  var focusId = root.dataset.focus, th = focusId && header(focusId);
  if (th) {
    th.classList.add("current");
    body.querySelectorAll('td.cell[data-lesson="' + focusId + '"]').forEach(function (td) { td.classList.add("current"); });
    var first = body.querySelector('td.cell[data-lesson="' + focusId + '"]');
    var scroller = grid.parentNode, name = grid.querySelector("th.col-name");
    scroller.scrollLeft = Math.max(0, th.offsetLeft - name.offsetLeft - name.offsetWidth - 2 * th.offsetWidth);
    if (first) { first.focus({preventScroll: true}); } else { selectLesson(focusId); }
  }
})();
