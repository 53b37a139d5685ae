/** Word lists for plausible generated team and event names. */
export const TEAM_ADJECTIVES = [
  'Iron',
  'Quantum',
  'Circuit',
  'Rogue',
  'Electric',
  'Titanium',
  'Rusty',
  'Hyper',
  'Cosmic',
  'Golden',
  'Silent',
  'Blue',
  'Crimson',
  'Binary',
  'Atomic',
  'Turbo',
] as const

export const TEAM_NOUNS = [
  'Raptors',
  'Gearheads',
  'Knights',
  'Cyborgs',
  'Falcons',
  'Wombats',
  'Sprockets',
  'Voltage',
  'Phoenix',
  'Bolts',
  'Mechanics',
  'Otters',
  'Pioneers',
  'Lynx',
  'Torque',
  'Axolotls',
] as const

export const SCHOOL_KINDS = ['High School', 'Academy', 'STEM Club', 'Robotics 4-H', 'Middle School'] as const

export interface Region {
  code: string
  name: string
  stateProv: string
  country: string
  cities: readonly string[]
  timezone: string
}

export const REGIONS: readonly Region[] = [
  {
    code: 'USCA',
    name: 'California',
    stateProv: 'CA',
    country: 'USA',
    cities: ['San Jose', 'Fresno', 'Pasadena'],
    timezone: 'America/Los_Angeles',
  },
  {
    code: 'USTX',
    name: 'Texas',
    stateProv: 'TX',
    country: 'USA',
    cities: ['Houston', 'Austin', 'Plano'],
    timezone: 'America/Chicago',
  },
  {
    code: 'USNY',
    name: 'New York',
    stateProv: 'NY',
    country: 'USA',
    cities: ['Rochester', 'Albany', 'Buffalo'],
    timezone: 'America/New_York',
  },
  {
    code: 'USMI',
    name: 'Michigan',
    stateProv: 'MI',
    country: 'USA',
    cities: ['Detroit', 'Lansing', 'Kalamazoo'],
    timezone: 'America/Detroit',
  },
  {
    code: 'CAON',
    name: 'Ontario',
    stateProv: 'ON',
    country: 'Canada',
    cities: ['Toronto', 'Ottawa', 'Waterloo'],
    timezone: 'America/Toronto',
  },
  {
    code: 'NO',
    name: 'Norway',
    stateProv: '',
    country: 'Norway',
    cities: ['Oslo', 'Bergen', 'Trondheim'],
    timezone: 'Europe/Oslo',
  },
]

export const EVENT_KINDS = [
  { type: '2', typeName: 'Qualifier', suffix: 'Q' },
  { type: '3', typeName: 'League Meet', suffix: 'M' },
  { type: '4', typeName: 'Championship', suffix: 'C' },
] as const
