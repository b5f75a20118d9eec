// The live "N / 1000" counter of a Summernote notes editor (phonon.summernote.NotesEditorWidget).
//
// Markup: <span data-notes-count-for="id_notes" data-max="1000">12 / 1000</span> anywhere on the
// page, and optionally an element with data-notes-too-long-for="id_notes" (hidden) that is shown
// while the notes are over the limit. The count is the server's (phonon.lib.sanitizer.visible_text).
window.PhononNotes = (function () {
  "use strict";
  // What Summernote holds when the editor looks empty.
  var EMPTY = ["<p><br></p>", "<p><br/></p>", "<br>"];

  /** The text a reader sees, counted as the server counts it. */
  function visibleLength(html) {
    var text = new DOMParser().parseFromString(html || "", "text/html").body.textContent || "";
    return text.replace(/[ \t\n\r\f]+/g, " ").replace(/^ +| +$/g, "").length;
  }

  function isEmpty(html) {
    return EMPTY.indexOf((html || "").trim()) !== -1;
  }

  /** Write "N / max" into the counter; mark it (and show the too-long note) when over. */
  function showCount(counter, html) {
    var max = Number(counter.dataset.max);
    var count = visibleLength(html);
    var over = count > max;
    counter.textContent = count + " / " + max;
    counter.classList.toggle("over", over);
    var note = document.querySelector('[data-notes-too-long-for="' + counter.dataset.notesCountFor + '"]');
    if (note) note.hidden = !over;
    return count;
  }

  function bind(counter) {
    var textarea = document.getElementById(counter.dataset.notesCountFor);
    if (!textarea || !window.jQuery) return;
    showCount(counter, textarea.value);
    window.jQuery(textarea).on("summernote.change", function (_event, contents) {
      // Keep the submitted field in step with the editor (the widget itself syncs it only on blur).
      textarea.value = isEmpty(contents) ? "" : contents;
      showCount(counter, textarea.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-notes-count-for]").forEach(bind);
  });

  return { visibleLength: visibleLength, isEmpty: isEmpty, showCount: showCount };
})();
