// Commands are run from tree items (the node), from webviews and tests (an id), and from
// keybindings or the palette (nothing). These turn any of those into the id the command needs.

function field(arg: unknown, key: string): unknown {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[key] : undefined;
}

/** A request id from a string, a tree node ({ kind: 'request', requestId }) or any { requestId } / { id }. */
export function requestIdFromArg(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return arg;
  const rid = field(arg, 'requestId');
  if (typeof rid === 'string' && rid) return rid;
  if (field(arg, 'kind') === undefined) {
    const id = field(arg, 'id');
    if (typeof id === 'string' && id) return id;
  }
  return undefined;
}

/** A session id from a string, a session or path tree node, or any { sessionId }. */
export function sessionIdFromArg(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return arg;
  const sid = field(arg, 'sessionId');
  return typeof sid === 'string' && sid ? sid : undefined;
}

/**
 * The request ids a tree command applies to. With multi-select, VS Code passes the clicked node
 * and the whole selection; the selection wins when it includes the clicked node.
 */
export function requestIdsFromArgs(arg: unknown, selection: unknown): string[] {
  const one = requestIdFromArg(arg);
  if (Array.isArray(selection)) {
    const many = selection.map(requestIdFromArg).filter((x): x is string => !!x);
    if (many.length && (!one || many.includes(one))) return [...new Set(many)];
  }
  if (Array.isArray(arg)) return [...new Set(arg.map(requestIdFromArg).filter((x): x is string => !!x))];
  return one ? [one] : [];
}
