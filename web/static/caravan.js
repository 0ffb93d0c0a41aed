// Caravan's progressive enhancement: try-it and uploads with progress. Pages work without it
// where they can; scripts call the same API as any client, with the page's anti-forgery token.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function flatten(value) {
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

function parseValue(raw, datatype) {
  if (datatype === "BYTES") return raw;
  if (datatype === "BOOL") return raw === true || raw === "true" || raw === 1 || raw === "1";
  const n = Number(raw);
  if (raw === "" || Number.isNaN(n)) throw new Error(`"${raw}" is not a number`);
  return n;
}

// Reads one try-it input: the pasted JSON if any, else the table cells.
function readInput(fieldset) {
  const name = fieldset.dataset.name;
  const datatype = fieldset.dataset.datatype;
  const shape = JSON.parse(fieldset.dataset.shape);
  const json = fieldset.querySelector("textarea.json");
  let data;
  if (json && json.value.trim() !== "") {
    try {
      data = flatten(JSON.parse(json.value));
    } catch (e) {
      throw new Error(`${name}: the JSON does not parse (${e.message})`);
    }
  } else {
    data = Array.from(fieldset.querySelectorAll("input.cell")).map((c) => c.value.trim());
  }
  try {
    data = data.map((v) => parseValue(v, datatype));
  } catch (e) {
    throw new Error(`${name}: ${e.message}`);
  }
  // More rows than the example shape: grow the first dimension.
  const rest = shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape.length > 0 && rest > 0 && data.length % rest === 0) shape[0] = data.length / rest;
  return { name, datatype, shape, data };
}

function showResult(target, response, body) {
  target.replaceChildren();
  if (!response.ok) {
    target.append(el("p", { class: "error", role: "alert", id: "try-error" }, body.error || `HTTP ${response.status}`));
    return;
  }
  target.append(el("p", { id: "try-version-answered" }, `Answered by ${body.model_name} version ${body.model_version}`));
  const table = el("table", { id: "try-outputs" });
  const head = el("tr");
  ["Output", "Type", "Shape", "Values"].forEach((h) => head.append(el("th", { scope: "col" }, h)));
  table.append(head);
  (body.outputs || []).forEach((o) => {
    const row = el("tr");
    const values = flatten(o.data || []);
    const shown = values.slice(0, 50).map((v) => (typeof v === "number" ? Number(v.toPrecision(6)) : v));
    row.append(el("td", {}, o.name), el("td", {}, o.datatype), el("td", {}, `[${o.shape.join(", ")}]`),
      el("td", { class: "try-values" }, shown.join(", ") + (values.length > 50 ? ", …" : "")));
    table.append(row);
  });
  target.append(table);
}

function setUpTryIt(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = document.getElementById("try-result");
    const button = form.querySelector("button[type=submit]");
    let inputs;
    try {
      inputs = Array.from(form.querySelectorAll("fieldset.try-input")).map(readInput);
    } catch (e) {
      result.replaceChildren(el("p", { class: "error", role: "alert", id: "try-error" }, e.message));
      return;
    }
    const version = document.getElementById("try-version").value;
    const model = encodeURIComponent(form.dataset.model);
    const path = version ? `/v2/models/${model}/versions/${encodeURIComponent(version)}/infer` : `/v2/models/${model}/infer`;
    button.disabled = true;
    result.replaceChildren(el("p", { class: "muted" }, "Running…"));
    try {
      const response = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ inputs }),
      });
      const body = await response.json().catch(() => ({}));
      showResult(result, response, body);
    } catch (e) {
      result.replaceChildren(el("p", { class: "error", role: "alert" }, `The server could not be reached: ${e.message}`));
    } finally {
      button.disabled = false;
    }
  });
}

function mib(bytes) {
  return (bytes / 1048576).toFixed(1);
}

function setUpUpload(form) {
  const errors = {
    name: document.getElementById("name-error"),
    file: document.getElementById("file-error"),
    form: document.getElementById("form-error"),
  };
  const progress = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.values(errors).forEach((e) => { e.textContent = ""; });
    const name = form.elements.name.value.trim();
    const file = form.elements.model.files[0];
    let invalid = false;
    if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(name) || name.includes("..")) {
      errors.name.textContent = "Use 1 to 100 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit.";
      invalid = true;
    }
    if (!file) {
      errors.file.textContent = "Choose an .onnx file to upload.";
      invalid = true;
    }
    if (invalid) return;
    const metadata = {
      description: form.elements.description.value.trim(),
      tags: form.elements.tags.value.split(",").map((t) => t.trim()).filter((t) => t),
      visibility: form.elements.visibility.value,
      card: form.elements.card.value,
    };
    const data = new FormData();
    data.append("metadata", JSON.stringify(metadata));
    data.append("model", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/models/${encodeURIComponent(name)}/versions`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    progress.hidden = false;
    progress.value = 0;
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      progress.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = e.loaded < e.total
        ? `Uploaded ${mib(e.loaded)} of ${mib(e.total)} MiB`
        : "Uploaded; ONNX Runtime is checking the model…";
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (xhr.status >= 200 && xhr.status < 300) {
        status.textContent = `Version ${body.version} of ${name} is ready.`;
        window.location.assign(`/models/${encodeURIComponent(name)}`);
        return;
      }
      progress.hidden = true;
      status.textContent = "";
      const message = body.error || `The upload failed (HTTP ${xhr.status}).`;
      if (xhr.status === 401) {
        errors.form.textContent = "Your session has expired: sign in again, then retry.";
      } else if (["model_refused", "payload_too_large"].includes(body.code) || /model part|onnx|file/i.test(message)) {
        errors.file.textContent = message;
      } else if (/name/i.test(message)) {
        errors.name.textContent = message;
      } else {
        errors.form.textContent = message;
      }
    });
    xhr.addEventListener("error", () => {
      progress.hidden = true;
      errors.form.textContent = "The connection failed before the upload finished. Try again.";
    });
    xhr.send(data);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const tryForm = document.getElementById("try-form");
  if (tryForm) setUpTryIt(tryForm);
  const uploadForm = document.getElementById("upload-form");
  if (uploadForm) setUpUpload(uploadForm);
});
