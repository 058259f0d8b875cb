// Injected into every document before its own scripts (BrowserFlow's init script): Web
// Vitals measured with PerformanceObserver, the way the web-vitals library defines them,
// read by the check through window.__synthmonVitals.read().
(() => {
  if (window.__synthmonVitals) {
    return;
  }
  const state = { lcp: null, cls: 0, fcp: null, longTasks: [], interactions: new Map(),
                  inputs: 0, firstInput: null };
  let session = 0;
  let sessionStart = 0;
  let lastShift = 0;
  const handlers = {
    "largest-contentful-paint": (entry) => {
      state.lcp = entry.renderTime || entry.loadTime || entry.startTime;
    },
    // CLS: the largest session window (shifts < 1 s apart, at most 5 s long) of layout
    // shifts not caused by recent input.
    "layout-shift": (entry) => {
      if (entry.hadRecentInput) {
        return;
      }
      if (session && entry.startTime - lastShift < 1000 && entry.startTime - sessionStart < 5000) {
        session += entry.value;
      } else {
        session = entry.value;
        sessionStart = entry.startTime;
      }
      lastShift = entry.startTime;
      state.cls = Math.max(state.cls, session);
    },
    paint: (entry) => {
      if (entry.name === "first-contentful-paint") {
        state.fcp = entry.startTime;
      }
    },
    longtask: (entry) => {
      state.longTasks.push([entry.startTime, entry.duration]);
    },
    // INP: per interaction its longest event; the page's INP is the worst interaction,
    // one worst ignored per 50 interactions (web-vitals' high percentile).
    event: (entry) => {
      if (entry.interactionId) {
        const before = state.interactions.get(entry.interactionId) || 0;
        state.interactions.set(entry.interactionId, Math.max(before, entry.duration));
      }
    },
  };
  const observers = [];
  for (const [type, handle] of Object.entries(handlers)) {
    try {
      const observer = new PerformanceObserver((list) => list.getEntries().forEach(handle));
      const options = { type, buffered: true };
      if (type === "event") {
        options.durationThreshold = 16;  // Event Timing's floor
      }
      observer.observe(options);
      observers.push([observer, handle]);
    } catch (error) {
      // an entry type this browser lacks: that vital is simply not reported
    }
  }
  for (const type of ["pointerdown", "keydown"]) {
    window.addEventListener(type, () => {
      state.inputs += 1;
      if (state.firstInput === null) {
        state.firstInput = performance.now();
      }
    }, { capture: true, passive: true });
  }
  const documentId = Math.random().toString(36).slice(2);

  function here() {
    const nav = performance.getEntriesByType("navigation")[0];
    return { documentId, status: nav && nav.responseStatus ? nav.responseStatus : null };
  }

  window.__synthmonVitals = {
    here,
    async read() {
      // a few frames and a task: what the page did after load has been laid out and painted,
      // and the entries of those frames are queued
      for (let frame = 0; frame < 4; frame += 1) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const [observer, handle] of observers) {
        observer.takeRecords().forEach(handle);
      }
      const nav = performance.getEntriesByType("navigation")[0];
      // TBT, the lab's load responsiveness: the blocking part (beyond 50 ms) of the long
      // tasks from first contentful paint until the user first acts (Lighthouse goes on to
      // a quiet window; what the user's own actions cost is INP's to measure).
      const from = state.fcp === null ? 0 : state.fcp;
      const until = state.firstInput === null ? Infinity : state.firstInput;
      let tbt = 0;
      for (const [start, duration] of state.longTasks) {
        const blockingFrom = Math.max(start + 50, from);
        const blockingUntil = Math.min(start + duration, until);
        tbt += Math.max(0, blockingUntil - blockingFrom);
      }
      let inp = null;
      if (state.interactions.size) {
        const slowest = [...state.interactions.values()].sort((a, b) => b - a);
        inp = slowest[Math.min(slowest.length - 1, Math.floor(slowest.length / 50))];
      } else if (state.inputs) {
        inp = 16;  // interactions happened, none reached Event Timing's 16 ms floor
      }
      return {
        ...here(),
        ttfb: nav ? Math.max(0, nav.responseStart - (nav.activationStart || 0)) : null,
        lcp: state.lcp,
        cls: state.cls,
        tbt: state.fcp === null ? null : tbt,
        inp,
      };
    },
  };
})();
