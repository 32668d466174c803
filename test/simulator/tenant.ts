/**
 * The synthetic Mimecast customer: account code, domains, mailboxes and the word pools records draw from.
 * Domains use the reserved `.example` TLD and addresses come from documentation ranges, so nothing the
 * simulator emits points at a real party.
 */
import { Rng, saltOf } from './random';

export interface Tenant {
  /** Account code in the style `CUSA102A236` (the prefix names the grid). */
  accountCode: string;
  domain: string;
  users: string[];
  admins: string[];
  externalDomains: string[];
  externalSenders: string[];
}

const FIRST_NAMES = [
  'alice',
  'bruno',
  'chen',
  'dana',
  'emeka',
  'fatima',
  'gustav',
  'hana',
  'ivan',
  'jonas',
  'kofi',
  'lena',
  'mateo',
  'nadia',
  'oscar',
  'priya',
  'quinn',
  'rosa',
  'samir',
  'tova',
  'umar',
  'vera',
  'wei',
  'yara',
] as const;
const LAST_NAMES = [
  'abbott',
  'berger',
  'castro',
  'dubois',
  'eklund',
  'farouk',
  'garcia',
  'haas',
  'ibarra',
  'jensen',
  'kowalski',
  'lindqvist',
  'moreau',
  'novak',
  'okafor',
  'petrov',
  'quispe',
  'rossi',
  'sato',
  'tanaka',
  'ueda',
  'varga',
] as const;
const COMPANY_WORDS = [
  'northwind',
  'fabrikam',
  'contoso',
  'tailspin',
  'adatum',
  'litware',
  'proseware',
  'wingtip',
  'woodgrove',
  'fourthcoffee',
  'lucerne',
  'margie',
  'treyresearch',
  'alpineski',
  'blueyonder',
  'coho',
] as const;
const GRID_PREFIXES = ['CUSA', 'CUSB', 'CUK', 'CDE', 'CAU', 'CCA', 'CSA'] as const;

export const SUBJECTS = [
  'Quarterly report Q3',
  'Re: Invoice 48213 overdue',
  'Your parcel could not be delivered',
  'Team offsite agenda',
  'FW: Contract draft v4',
  'Password expiry notice',
  'Re: Lunch on Friday?',
  'Action required: verify your account',
  'Weekly status update',
  'New voicemail from +44 20 7946 0000',
  'Shared document: Budget 2025.xlsx',
  'Re: Supplier onboarding form',
  'Payroll change confirmation',
  'Meeting notes - product sync',
  'You have new held messages',
  'DocuSign: Please review and sign',
  'Re: Re: Shipping schedule',
  'Security awareness training reminder',
  'Welcome to the team!',
  'Urgent wire transfer request',
] as const;

export const FILE_NAMES = [
  ['Invoice_48213.pdf', 'pdf', 'application/pdf'],
  ['Budget 2025.xlsx', 'xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  [
    'Contract_draft_v4.docx',
    'docx',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ],
  ['scan0042.zip', 'zip', 'application/zip'],
  ['statement.html', 'html', 'text/html'],
  ['OneDriveSetup.exe', 'exe', 'application/x-msdownload'],
  ['photo.jpg', 'jpg', 'image/jpeg'],
  ['notes.txt', 'txt', 'text/plain'],
] as const;

export const URLS = [
  'https://docs.fabrikam.example/share/8f2c1',
  'http://login-verify.contoso-secure.example/account/update',
  'https://cdn.tailspin.example/assets/report.pdf',
  'https://www.litware.example/news/2024/launch.html',
  'http://files.adatum.example/download/setup.exe',
  'https://portal.woodgrove.example/payments?ref=88231',
  'https://survey.proseware.example/s/q1-feedback',
  'http://track.wingtip.example/parcel/JD0144',
] as const;

export function makeTenant(seed: number, accountCode?: string): Tenant {
  const rng = Rng.of(seed, saltOf('tenant'));
  const company = rng.pick(COMPANY_WORDS);
  const domain = `${company}.example`;
  const users: string[] = [];
  const seen = new Set<string>();
  // Bounded: the pools allow far more than 40 distinct names.
  for (let attempt = 0; users.length < 40 && attempt < 400; attempt++) {
    const local = `${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}`;
    if (seen.has(local)) continue;
    seen.add(local);
    users.push(`${local}@${domain}`);
  }
  const admins = [`admin@${domain}`, `secops@${domain}`, `${users[0]}`];
  const externalDomains = COMPANY_WORDS.filter((word) => word !== company).map(
    (word) => `${word}-mail.example`,
  );
  const externalSenders = externalDomains.flatMap((d, i) => [
    `${FIRST_NAMES[i % FIRST_NAMES.length]}@${d}`,
    `noreply@${d}`,
    `billing@${d}`,
  ]);
  return {
    accountCode: accountCode ?? `${rng.pick(GRID_PREFIXES)}${rng.int(10, 99)}A${rng.int(100, 999)}`,
    domain,
    users,
    admins,
    externalDomains,
    externalSenders,
  };
}

export function domainOf(address: string): string {
  return address.slice(address.indexOf('@') + 1);
}
