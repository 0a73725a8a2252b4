/**
 * Cross-cutting API signals (401, policy gate) raised by the client's middleware and handled by
 * the session store and the shell. A tiny listener list keeps the client free of router/store imports.
 */
export interface PolicyRequired {
  version: string
  effectiveDate?: string
}

type Listener<T> = (value: T) => void

function channel<T>() {
  const listeners = new Set<Listener<T>>()
  return {
    on(fn: Listener<T>): () => void {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    emit(value: T): void {
      listeners.forEach((fn) => fn(value))
    },
  }
}

/**
 * Why the console signs the user out by itself: a call needing a session answered 401 (the session is
 * over), or 403 `permission.console_not_allowed` (the user's role no longer has the web console app;
 * the session still lets them log out).
 */
export type SignOutReason = 'session_ended' | 'console_not_allowed'

/** The user is signed out (see `SignOutReason`): the session store forgets them, the router goes to login. */
export const unauthorized = channel<SignOutReason>()
/** A call answered 403 `privacy.policy_acceptance_required`. */
export const policyRequired = channel<PolicyRequired>()
