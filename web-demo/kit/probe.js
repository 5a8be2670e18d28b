// Loaded in a sub-frame by the conformance kit: tells the page whether the
// native bridge is visible here. A conforming host exposes it to the main
// frame of the app's origin only.
(() => {
  const params = new URLSearchParams(location.search);
  const name = params.get("name") ?? "";
  const frame = params.get("frame") ?? "";
  let android = false;
  let ios = false;
  try {
    android = name !== "" && typeof window[name] === "object" && window[name] !== null;
    ios = typeof window.webkit?.messageHandlers?.[name]?.postMessage === "function";
  } catch {
    // A host that throws on access is not visible.
  }
  window.parent.postMessage({ simbindProbe: frame, visible: android || ios }, "*");
})();
