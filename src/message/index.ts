// The public API of smtpkit/message: an RFC 5322 + MIME composer that knows nothing of SMTP.
export { compose, type MessageInput } from './compose.ts'
export type { Message, MessageEnvelope } from './message.ts'
export type { Attachment } from './attachment.ts'
export { parseAddressList, type AddressInput, type AddressListInput, type AddressItem, type Group, type Mailbox, type ParseAddressOptions } from './address-header.ts'
export type { HeaderEntry } from './headers.ts'
export type { TransferEncoding } from './encoding/transfer-encoding.ts'
export { contentTypeFor } from './content-types.ts'
