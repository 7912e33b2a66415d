// Forwards every request, method, headers and body, to ORIGIN_URL, and streams the
// origin's answer back unchanged.
export default {
  fetch(request, env) {
    return fetch(new Request(env.ORIGIN_URL, request));
  },
};
