/**
 * Follows one background job (a sync) by polling GET /api/v1/jobs/{id} until it finishes.
 * A start answered 409 with `details.job_id` (one already runs) is kept as `conflict`, and that job
 * is followed instead.
 */
import { computed, onBeforeUnmount, ref } from 'vue'
import { api, ApiError, type Schemas } from '@/api/client'
import { notifyError } from '@/api/notify'

export type Job = Schemas['JobRead']

const POLL_MS = 1000

export function isFinished(job: Job | null | undefined): boolean {
  return job?.status === 'succeeded' || job?.status === 'failed'
}

export function useJobTracker(onFinished?: (job: Job) => void) {
  const job = ref<Job | null>(null)
  const starting = ref(false)
  /** The start was refused because a job of this kind already runs. */
  const conflict = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let disposed = false

  const running = computed(() => starting.value || (job.value !== null && !isFinished(job.value)))

  function stop(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
  }

  function follow(next: Job): void {
    job.value = next
    stop()
    if (isFinished(next)) onFinished?.(next)
    else if (!disposed) timer = setTimeout(() => void poll(next.id), POLL_MS)
  }

  async function poll(id: string): Promise<void> {
    try {
      const { data } = await api.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: id } } })
      if (data && !disposed) follow(data)
    } catch (err) {
      notifyError(err)
    }
  }

  /** Starts the job with `request` (a POST answering the job row) and follows it. */
  async function start(request: () => Promise<Job | undefined>): Promise<void> {
    starting.value = true
    conflict.value = false
    try {
      const started = await request()
      if (started) follow(started)
    } catch (err) {
      const id = err instanceof ApiError && err.status === 409 ? err.details.job_id : undefined
      if (typeof id === 'string') {
        conflict.value = true
        await poll(id)
      } else notifyError(err)
    } finally {
      starting.value = false
    }
  }

  onBeforeUnmount(() => {
    disposed = true
    stop()
  })

  return { job, starting, running, conflict, start }
}
