// The dashboard's replay player: mounts rrweb-player (served from /pkg/rrweb-player.js, the npm
// package's UMD build) on the replay page with the events the page carries. The page loads both
// scripts; they may arrive in either order, and a page reached by the dashboard's own
// navigation runs this again, so it waits for both and mounts once.
(function mount() {
  const target = document.getElementById('replay-player');
  const data = document.getElementById('replay-events');
  if (!target || !data) return;
  if (target.dataset.mounted === target.dataset.replay) return;
  if (typeof window.rrwebPlayer !== 'function' && typeof window.rrwebPlayer?.default !== 'function') {
    setTimeout(mount, 50);
    return;
  }
  const Player = typeof window.rrwebPlayer === 'function' ? window.rrwebPlayer : window.rrwebPlayer.default;
  const events = JSON.parse(data.textContent || '[]');
  target.dataset.mounted = target.dataset.replay;
  target.replaceChildren();
  if (events.length < 2) {
    target.textContent = 'This replay has too few events to play.';
    return;
  }
  const width = Math.min(960, target.clientWidth || 960);
  window.replayPlayer = new Player({
    target,
    props: { events, width, height: Math.round(width * 0.56), autoPlay: false, showController: true },
  });
  target.dataset.ready = 'true';
})();
