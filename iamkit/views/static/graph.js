// iamkit's DOT renderer for the browser: the anywidget front end of iamkit.graphview.GraphView.
//
// Graphviz runs here, compiled to WebAssembly (the vendored @viz-js/viz in viz.js), so a diagram
// draws with no `dot` program and no network: the kernel sends viz.js once per page, on the first
// widget's request, and every graph widget of the page shares the one Graphviz it starts.
//
// The model's traits: `dot` (the DOT source), `text` (the same content in words), `title`.
// The view shows the drawing, the text alternative (linked to the drawing for screen readers) and
// a status line; a DOT source that fails to draw leaves the last good drawing in place.

const SHARED = Symbol.for("iamkit.graph.viz"); // globalThis[SHARED]: the page's Graphviz, a Promise
const VIEWS = Symbol.for("iamkit.graph.views"); // globalThis[VIEWS]: how many views the page made, for unique ids
const ANSWER_MS = 60_000; // a kernel busy with a long cell still answers in time

function graphviz(model) {
  if (!globalThis[SHARED]) {
    const pending = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        model.off("msg:custom", answer);
        reject(new Error(`the kernel did not send Graphviz within ${ANSWER_MS / 1000} s`));
      }, ANSWER_MS);
      const answer = (message) => {
        if (message?.kind !== "iamkit-viz") return;
        clearTimeout(timer);
        model.off("msg:custom", answer);
        if (message.error) {
          reject(new Error(message.error));
          return;
        }
        const url = URL.createObjectURL(new Blob([message.source], { type: "text/javascript" }));
        import(/* webpackIgnore: true */ url)
          .then((viz) => viz.instance())
          .then(resolve, reject)
          .finally(() => URL.revokeObjectURL(url));
      };
      model.on("msg:custom", answer);
      model.send({ kind: "iamkit-viz-request" });
    });
    globalThis[SHARED] = pending;
    pending.catch(() => {
      if (globalThis[SHARED] === pending) delete globalThis[SHARED]; // the next widget asks again
    });
  }
  return globalThis[SHARED];
}

// What Graphviz writes is kept; anything that could run code is dropped (a DOT `URL` of
// `javascript:`, an event attribute), since DOT may carry text from anywhere.
function cleaned(svg) {
  for (const node of svg.querySelectorAll("script, foreignObject")) node.remove();
  for (const node of [svg, ...svg.querySelectorAll("*")]) {
    for (const attribute of [...node.attributes]) {
      const name = attribute.name.toLowerCase();
      const link = name === "href" || name === "xlink:href";
      if (name.startsWith("on") || (link && !/^(#|https?:)/i.test(attribute.value.trim()))) {
        node.removeAttribute(attribute.name);
      }
    }
  }
  return svg;
}

function drawing(viz, dot) {
  const result = viz.render(dot, { format: "svg" });
  if (result.status !== "success") {
    const errors = (result.errors || []).filter((e) => e.level === "error").map((e) => e.message.trim());
    throw new Error(errors.join("; ") || "Graphviz could not lay out this DOT source");
  }
  const parsed = new DOMParser().parseFromString(result.output, "image/svg+xml").documentElement;
  if (parsed.nodeName !== "svg") throw new Error("Graphviz's output is not SVG");
  return cleaned(document.importNode(parsed, true));
}

function element(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  parent.append(node);
  return node;
}

function render({ model, el }) {
  globalThis[VIEWS] = (globalThis[VIEWS] || 0) + 1; // anywidget may load this module once per widget
  const id = `iamkit-graph-${globalThis[VIEWS]}`;
  const figure = element("figure", "iamkit-graph", el);
  figure.style.margin = "0";
  const caption = element("figcaption", "iamkit-graph-title", figure);
  caption.id = `${id}-title`;
  const canvas = element("div", "iamkit-graph-drawing", figure);
  canvas.style.overflow = "auto";
  canvas.style.maxWidth = "100%";
  const status = element("p", "iamkit-graph-status", figure);
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const words = element("details", "iamkit-graph-text", figure);
  element("summary", "", words).textContent = "In words";
  const text = element("pre", "", words);
  text.id = `${id}-text`;
  text.style.whiteSpace = "pre-wrap";

  let shown = null; // the DOT source of the drawing on screen
  let latest = 0; // only the newest request may draw: an older one that finishes late is dropped

  function say(message, failed) {
    status.textContent = message;
    status.hidden = !message;
    status.classList.toggle("iamkit-graph-error", failed);
    status.style.cssText = failed ? "border-left:4px solid #b35900;padding:2px 8px" : "";
    figure.classList.toggle("iamkit-graph-failed", failed);
  }

  async function update() {
    const dot = model.get("dot");
    const ticket = ++latest;
    caption.textContent = model.get("title");
    caption.hidden = !model.get("title");
    text.textContent = model.get("text");
    canvas.querySelector("svg")?.setAttribute("aria-label", model.get("title") || "diagram");
    if (dot === shown) return;
    if (!dot.trim()) {
      canvas.replaceChildren();
      shown = dot;
      say("", false);
      return;
    }
    say("Drawing the diagram…", false);
    try {
      const svg = drawing(await graphviz(model), dot);
      if (ticket !== latest) return;
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", model.get("title") || "diagram");
      svg.setAttribute("aria-describedby", text.id);
      canvas.replaceChildren(svg);
      canvas.classList.remove("iamkit-graph-stale");
      canvas.style.opacity = "";
      shown = dot;
      say("", false);
    } catch (error) {
      if (ticket !== latest) return;
      const kept = shown !== null && canvas.firstChild !== null;
      canvas.classList.toggle("iamkit-graph-stale", kept);
      canvas.style.opacity = kept ? "0.5" : ""; // an old drawing, shown as such
      say(`✖ The browser could not draw this diagram: ${error?.message || error}. ` +
          (kept ? "The last drawing that worked is still shown; the text below describes the new one."
                : "The text below says the same in words."), true);
      words.open = true;
    }
  }

  model.on("change:dot", update);
  model.on("change:text", update);
  model.on("change:title", update);
  update();
  return () => {
    model.off("change:dot", update);
    model.off("change:text", update);
    model.off("change:title", update);
  };
}

export default { render };
