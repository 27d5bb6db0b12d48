import { Parse, call } from './client';

export interface DashboardData {
  pipeline: { stage: string; count: number; amount: number }[];
  openCount: number;
  openAmount: number;
  forecast: { month: string; count: number; amount: number; weighted: number }[];
  wonLost: { month: string; won: number; wonAmount: number; lost: number; lostAmount: number }[];
  won: number;
  lost: number;
  winRate: number | null;
  slipped: {
    count: number;
    amount: number;
    deals: { id: string; title: string; amount: number | null; stage: string; expectedCloseDate: string }[];
  };
  overdue: { count: number; activities: { id: string; subject: string; type: string; dueDate: string }[] };
}

function localDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The dashboard's figures, computed by the server in SQL over what the caller may read (crm/dashboard.py). */
export function loadDashboard(ownerId: string | null, now = new Date()): Promise<DashboardData> {
  return call(async () => (await Parse.Cloud.run('dashboard', { owner: ownerId, today: localDay(now) })) as DashboardData);
}
