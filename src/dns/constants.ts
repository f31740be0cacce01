// Wire constants (RFC 1035 section 4.1, RFC 6891, RFC 6895 for the registries).

export const HEADER_LEN = 12;

// Header byte 2: QR(1) OPCODE(4) AA(1) TC(1) RD(1); byte 3: RA(1) Z(1) AD(1) CD(1) RCODE(4).
export const F2_QR = 0x80;
export const F2_OPCODE_MASK = 0x78;
export const F2_TC = 0x02;
export const F2_RD = 0x01;
export const F3_RA = 0x80;
export const F3_AD = 0x20;
export const F3_CD = 0x10;
export const F3_RCODE_MASK = 0x0f;

export const OPCODE_QUERY = 0;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended RCODE 16 (RFC 6891 section 6.1.3): upper 8 bits = 1 in the OPT TTL field. */
  BADVERS: 16,
} as const;

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  AAAA: 28,
  DNAME: 39,
  OPT: 41,
  RRSIG: 46,
  NSEC: 47,
  NSEC3: 50,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const CLASS_IN = 1;

/** EDNS0 DO bit, in the OPT record's TTL field (RFC 3225). */
export const EDNS_DO = 0x8000;
/** The EDNS Padding option (RFC 7830). */
export const EDNS_OPTION_PADDING = 12;

/** Largest UDP message without EDNS (RFC 1035 section 4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** Largest DNS message over TCP (RFC 1035 section 4.2.2: a two-octet length). */
export const MAX_TCP_MESSAGE = 65535;
/** Names are at most 255 octets in wire form, labels at most 63 (RFC 1035 section 2.3.4). */
export const MAX_NAME_LEN = 255;
export const MAX_LABEL_LEN = 63;
