import type { Schemas } from '@/api/client'

type Table = Schemas['TableRead']
type Column = Schemas['ColumnRead']

/** One row of the inventory table: a column with its table's owner, retention and region. */
export interface InventoryRow {
  key: string
  table: string
  column: string
  category: string
  categoryLabel: string
  subject: string
  subjectLabel: string
  owner: string
  ownerLabel: string
  purposes: string
  retention: string
  erasure: string
  region: string
  personal: boolean
  sensitive: boolean
  encrypted: boolean
}

function purposes(column: Column, table: Table): string {
  const list = column.purposes.length ? column.purposes : table.purposes
  return list.map((p) => `${p.label}（${p.legal_basis_label}）`).join('；')
}

export function flatten(tables: Table[]): InventoryRow[] {
  return tables.flatMap((table) =>
    table.columns.map((column) => ({
      key: `${table.table}.${column.column}`,
      table: table.table,
      column: column.column,
      category: column.category,
      categoryLabel: column.category_label,
      subject: column.subject,
      subjectLabel: column.subject_label,
      owner: table.owner_role,
      ownerLabel: table.owner_label,
      purposes: purposes(column, table),
      retention: table.retention.text,
      erasure: column.erasure_label,
      region: table.region_label,
      personal: column.personal,
      sensitive: column.sensitive,
      encrypted: column.encrypted,
    })),
  )
}

/** Distinct (value, label) pairs of a row field, sorted by label. */
export function options(rows: InventoryRow[], value: keyof InventoryRow, label: keyof InventoryRow) {
  const seen = new Map<string, string>()
  for (const row of rows) seen.set(String(row[value]), String(row[label]))
  return [...seen].map(([v, l]) => ({ value: v, label: l })).sort((a, b) => a.label.localeCompare(b.label))
}
