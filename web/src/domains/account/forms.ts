/** Shared helpers of the auth forms: phone check, password rules, API errors mapped to fields. */
import { reactive, ref } from 'vue'
import { ApiError } from '@/api/client'
import { errorMessage } from '@/api/notify'

/** Digits of a mainland mobile number without +86 / spaces / dashes ('' when it is not one). */
export function nationalMobile(value: string): string {
  const digits = value.replace(/[\s\-()]/g, '').replace(/^(\+?86|0086)/, '')
  return /^1[3-9]\d{9}$/.test(digits) ? digits : ''
}

/** Mirrors the server's password rules (account/passwords.py): the server stays authoritative. */
export interface PasswordCheck {
  length: boolean
  classes: boolean
  phone: boolean
  common: boolean
}

const COMMON = new Set([
  'password1!', 'password123!', 'p@ssw0rd', 'p@ssword1', 'passw0rd!', 'qwer1234!', 'qwerty123!', 'qwe123!@#',
  '1qaz@wsx', '1qaz2wsx!', '!qaz2wsx', 'abc123!@#', 'abcd1234!', 'admin123!', 'admin@123', 'a123456!',
  'aa123456!', 'woaini1314!', 'iloveyou1!', 'huike123!', 'huike@123', 'welcome1!', 'zxcv1234!', 'asdf1234!',
  'test@123', 'root@123', 'changeme1!',
])

export function classCount(password: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length
}

export function checkPassword(password: string, phone: string): PasswordCheck {
  const national = nationalMobile(phone)
  const digits = password.replace(/\D/g, '')
  return {
    length: password.length >= 8 && password.length <= 128,
    classes: classCount(password) >= 3,
    phone: !national || !(digits.includes(national) || password.includes(national.slice(-8))),
    common: !COMMON.has(password.toLowerCase()),
  }
}

export function passwordOk(password: string, phone: string): boolean {
  return Object.values(checkPassword(password, phone)).every(Boolean)
}

/** 0 weak, 1 medium, 2 strong: a hint only; "ok" means the server rules pass. */
export function passwordLevel(password: string, phone: string): 0 | 1 | 2 {
  if (!passwordOk(password, phone)) return 0
  return password.length >= 12 && classCount(password) === 4 ? 2 : 1
}

/** Which form field an API error code belongs to. */
const CODE_FIELD: Record<string, string> = {
  'account.invalid_phone': 'phone',
  'account.phone_registered': 'phone',
  'account.weak_password': 'password',
  'account.unknown_industry': 'industry',
  'account.company_name_required': 'company_name',
  'account.adult_statement_required': 'adult_or_guardian',
  'account.company_authorisation_required': 'company_authorised',
  'account.guardian_details_required': 'guardian_name',
  'account.invalid_guardian_phone': 'guardian_phone',
  'account.guardian_phone_same': 'guardian_phone',
  'account.guardian_consent_failed': 'guardian_sms_code',
  'privacy.policy_version_not_current': 'policy',
  'privacy.policy_version_stale': 'policy',
  'privacy.policy_version_not_found': 'policy',
  'sms.code_missing': 'sms_code',
  'sms.code_wrong': 'sms_code',
  'sms.code_expired': 'sms_code',
  'sms.code_used': 'sms_code',
  'sms.code_exhausted': 'sms_code',
  'sms.rate_limited': 'sms_code',
  'sms.send_failed': 'sms_code',
  'auth.invalid_credentials': 'password',
}

/** Field aliases: the reset form calls the password `new_password`. */
const ALIASES: Record<string, string> = { new_password: 'password' }

export interface FormErrors {
  /** Message per form field (keys are the API's body field names). */
  fields: Record<string, string>
  /** A message that belongs to no field. */
  general?: string
}

/** Maps an API error onto form fields: `details.fields[].location`, else the error code. */
export function formErrors(err: unknown, fields: readonly string[]): FormErrors {
  const out: FormErrors = { fields: {} }
  if (!(err instanceof ApiError)) return { fields: {}, general: errorMessage(err) }
  const list = Array.isArray(err.details.fields) ? (err.details.fields as unknown[]) : []
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue
    const { location, message } = item as { location?: unknown; message?: unknown }
    const last = Array.isArray(location) ? String(location[location.length - 1] ?? '') : ''
    const name = ALIASES[last] ?? last
    const text = typeof message === 'string' ? message : err.message
    if (fields.includes(name)) out.fields[name] ??= text
    else out.general ??= text
  }
  if (list.length) {
    if (!out.general && Object.keys(out.fields).length === 0) out.general = err.message
    return out
  }
  const field = CODE_FIELD[err.code]
  if (field && fields.includes(field)) out.fields[field] = err.message
  else out.general = err.message
  return out
}

/** Reactive per-field errors of one form (shown with `<el-form-item :error>`) and a general one. */
export function useFormErrors<F extends string>(fields: readonly F[]) {
  const errors = reactive<Record<string, string>>({}) as Record<F, string>
  const general = ref('')
  function clear(): void {
    for (const f of fields) errors[f] = ''
    general.value = ''
  }
  function apply(err: unknown): void {
    clear()
    const found = formErrors(err, fields)
    for (const [name, message] of Object.entries(found.fields)) errors[name as F] = message
    general.value = found.general ?? ''
  }
  clear()
  return { errors, general, clear, apply }
}
