/** One term of a search: a word or phrase, optionally limited to one field, optionally negated. */
export interface SearchTerm {
  readonly field: 'any' | 'from' | 'to' | 'subject' | 'is'
  readonly value: string
  readonly isNegated: boolean
}

const FIELDS = new Set(['from', 'to', 'subject', 'is'])

/**
 * Parses a search in Mailpit's syntax: words and "quoted phrases" match from, to, subject and
 * the decoded body; `from:`, `to:`, `subject:` limit a term to one field; `is:read` and
 * `is:unread` filter; a leading `-` negates. Matching ignores case.
 */
export function parseSearchQuery(query: string): SearchTerm[] {
  const terms: SearchTerm[] = []
  for (const match of query.matchAll(/(-?)(?:([a-z]+):)?(?:"([^"]*)"?|(\S+))/gi)) {
    const [, minus, prefix, quoted, word] = match
    let field: SearchTerm['field'] = 'any'
    let value = quoted ?? word ?? ''
    if (prefix !== undefined) {
      if (FIELDS.has(prefix.toLowerCase())) field = prefix.toLowerCase() as SearchTerm['field']
      else value = `${prefix}:${value}`
    }
    if (value !== '') terms.push({ field, value: value.toLowerCase(), isNegated: minus === '-' })
  }
  return terms
}

/** The text a message offers each field, lower-cased; `body` only once the message was parsed. */
export interface SearchableText {
  readonly from: string
  readonly to: string
  readonly subject: string
  readonly isSeen: boolean
  readonly body?: string | undefined
}

/** True when every term matches. */
export function matchesSearch(terms: readonly SearchTerm[], text: SearchableText): boolean {
  return terms.every((term) => matchesTerm(term, text) !== term.isNegated)
}

/** True when a search needs the decoded body (it has a term that may match anywhere). */
export function needsBody(terms: readonly SearchTerm[]): boolean {
  return terms.some((term) => term.field === 'any')
}

function matchesTerm(term: SearchTerm, text: SearchableText): boolean {
  switch (term.field) {
    case 'from':
      return text.from.includes(term.value)
    case 'to':
      return text.to.includes(term.value)
    case 'subject':
      return text.subject.includes(term.value)
    case 'is':
      return term.value === 'read' ? text.isSeen : term.value === 'unread' ? !text.isSeen : false
    case 'any':
      return text.from.includes(term.value) || text.to.includes(term.value) || text.subject.includes(term.value) || (text.body?.includes(term.value) ?? false)
  }
}
