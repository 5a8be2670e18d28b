// The bridge conformance kit's page: reads the form, runs the kit
// (@simbind/client/conformance) against the app's own bridge and shows the
// table. In dev the one-time code is read from the deployment's outbox;
// elsewhere the tester types it.
import init from "../vendor/simbind-client/index.js";
import { runConformance } from "../vendor/simbind-client/conformance.js";

const $ = (id) => document.getElementById(id);

/** Asks each probe sub-frame whether the bridge is visible there (5 s at most). */
function probeFrames(name) {
  const frames = {
    "a sub-frame of another origin (sandboxed)": { sandbox: "allow-scripts" },
    "a sub-frame of this origin": {},
  };
  return new Promise((resolve, reject) => {
    const seen = {};
    const made = [];
    const done = (value, error) => {
      window.removeEventListener("message", listen);
      made.forEach((f) => f.remove());
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    };
    const listen = (event) => {
      const frame = event.data?.simbindProbe;
      if (typeof frame !== "string" || !(frame in frames)) return;
      // Only the probe frame itself answers for itself.
      if (event.source !== made.find((f) => f.dataset.frame === frame)?.contentWindow) return;
      seen[frame] = event.data.visible === true;
      if (Object.keys(seen).length === Object.keys(frames).length) done(Object.fromEntries(Object.keys(frames).map((f) => [f, seen[f]])));
    };
    const timer = setTimeout(() => done(null, new Error("no answer from the probe frames")), 5000);
    window.addEventListener("message", listen);
    for (const [frame, attrs] of Object.entries(frames)) {
      const iframe = document.createElement("iframe");
      for (const [k, v] of Object.entries(attrs)) iframe.setAttribute(k, v);
      iframe.hidden = true;
      iframe.dataset.frame = frame;
      iframe.src = `probe?${new URLSearchParams({ name, frame })}`;
      made.push(iframe);
      document.body.append(iframe);
    }
  });
}

/** The code from the dev outbox, or from the tester where there is none. */
async function readCode(base, number) {
  const res = await fetch(`${base}/dev/outbox?phone_number=${encodeURIComponent(number)}`).catch(() => null);
  if (res?.ok) {
    const { messages } = await res.json();
    const otp = messages.filter((m) => m.kind === "otp").at(-1);
    if (otp) return otp.text.slice(0, 6);
  }
  $("code-box").hidden = false;
  $("status").textContent = "Type the code the deployment texted to this number.";
  $("code").focus();
  return new Promise((resolve) => {
    $("code-ok").addEventListener("click", () => {
      $("code-box").hidden = true;
      resolve($("code").value.trim());
    }, { once: true });
  });
}

function show(report) {
  $("result").hidden = false;
  $("summary").textContent = `${report.failed ? "Not conformant" : "Conformant"}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`;
  const rows = report.results.map((r) => {
    const tr = document.createElement("tr");
    tr.className = r.status;
    tr.dataset.check = r.id;
    const name = document.createElement("td");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = r.title;
    name.append(r.id, title);
    const status = document.createElement("td");
    status.textContent = r.status;
    const why = document.createElement("td");
    why.textContent = r.reason;
    tr.append(name, status, why);
    return tr;
  });
  $("table").tBodies[0].replaceChildren(...rows);
  const json = JSON.stringify(report, null, 2);
  $("json").textContent = json;
  $("download").href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
  window.simbindConformance = report;
  document.body.dataset.done = "true";
}

async function main() {
  await init();
  $("base").value = location.origin;
  try {
    const discovery = await (await fetch(`${location.origin}/.well-known/simbind`)).json();
    $("audience").value = discovery.audience ?? "";
  } catch {
    // Not served by a deployment: the tester fills it in.
  }
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      $("name").value = radio.value === "ios" ? "simbind" : "SimBindNative";
    });
  }
  $("setup").addEventListener("submit", async (event) => {
    event.preventDefault();
    const base = $("base").value.trim().replace(/\/+$/, "");
    const kind = document.querySelector("input[name=kind]:checked").value;
    const name = $("name").value.trim();
    $("run").disabled = true;
    $("status").textContent = "Running: the bridge is asked for its chip and SIM, then bound, verified and unbound.";
    try {
      show(await runConformance({
        baseUrl: base,
        audience: $("audience").value.trim(),
        host: { kind, name },
        phoneNumber: $("number").value.trim(),
        readCode: (number) => readCode(base, number),
        probeFrames: () => probeFrames(name),
        proof: document.querySelector("input[name=proof]:checked").value,
      }));
      $("status").textContent = "Done.";
    } catch (e) {
      $("status").textContent = `The kit itself failed: ${e?.message ?? e}`;
    } finally {
      $("run").disabled = false;
    }
  });
  document.body.dataset.ready = "true";
}

main();
