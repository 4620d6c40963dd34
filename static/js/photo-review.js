// Blur more, by pointer: a tap on the grid image ticks the square under it
// (the same checkbox a keyboard or a browser without scripts uses); a drag
// marks a rectangle, sent as fractions of the image in the hidden "rects" field.
(function () {
  "use strict";
  document.querySelectorAll("img.desk-photo-grid[data-photo]").forEach(function (image) {
    var photo = image.dataset.photo;
    var cells = Math.round(Math.sqrt(Number(image.dataset.grid) || 64));
    var rects = document.querySelector('[data-photo-rects="' + photo + '"]');
    var status = document.querySelector('[data-photo-status="' + photo + '"]');
    var frame = document.createElement("span");
    frame.className = "photo-frame";
    image.parentNode.insertBefore(frame, image);
    frame.appendChild(image);
    var start = null;
    var marked = [];

    function point(event) {
      var box = image.getBoundingClientRect();
      return {
        x: Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1),
        y: Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1)
      };
    }
    function announce() {
      var ticked = [];
      document.querySelectorAll('[data-photo-cell^="' + photo + '-"]').forEach(function (box) {
        if (box.checked) ticked.push(box.value);
      });
      status.textContent = ticked.join(", ") + (marked.length ? " + " + marked.length + " ▭" : "");
    }
    function mark(a, b) {
      var r = [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
      marked.push(r.map(function (v) { return v.toFixed(4); }).join(","));
      rects.value = marked.join(";");
      var shown = document.createElement("span");
      shown.className = "photo-mark";
      // CSSOM, not a style attribute: allowed under the nonce-only CSP.
      shown.style.left = r[0] * 100 + "%";
      shown.style.top = r[1] * 100 + "%";
      shown.style.width = (r[2] - r[0]) * 100 + "%";
      shown.style.height = (r[3] - r[1]) * 100 + "%";
      frame.appendChild(shown);
    }

    image.addEventListener("pointerdown", function (event) {
      start = point(event);
      event.preventDefault();
    });
    image.addEventListener("pointerup", function (event) {
      if (!start) return;
      var end = point(event);
      var box = image.getBoundingClientRect();
      var moved = Math.hypot((end.x - start.x) * box.width, (end.y - start.y) * box.height);
      if (moved > 12) {
        mark(start, end);
      } else {
        var cell = Math.min(Math.floor(end.y * cells), cells - 1) * cells + Math.min(Math.floor(end.x * cells), cells - 1) + 1;
        var checkbox = document.querySelector('[data-photo-cell="' + photo + "-" + cell + '"]');
        if (checkbox) checkbox.checked = !checkbox.checked;
      }
      start = null;
      announce();
    });
    document.querySelectorAll('[data-photo-cell^="' + photo + '-"]').forEach(function (box) {
      box.addEventListener("change", announce);
    });
  });
})();
