/**
 * Routes (history mode; the server answers index.html for them). Log-in is in the main bundle, every other screen
 * is loaded when first visited. Screens behind log-in send a signed-out visitor to log-in, keeping where they
 * wanted to go in `?redirect=`.
 */
import type { Pinia } from 'pinia';
import { createRouter, createWebHistory, type RouteLocationRaw } from 'vue-router';
import AppShell from './components/app/AppShell.vue';
import LoginView from './views/LoginView.vue';
import { useAuthStore } from './stores/auth';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session (log-in, sign-up, password reset). */
    public?: boolean;
  }
}

export function createAppRouter(pinia: Pinia) {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
      { path: '/signup', name: 'signup', component: () => import('./views/SignupView.vue'), meta: { public: true } },
      {
        path: '/reset-password',
        name: 'reset-password',
        component: () => import('./views/ResetPasswordView.vue'),
        meta: { public: true },
      },
      {
        path: '/',
        component: AppShell,
        children: [
          { path: '', redirect: { name: 'dashboard' } },
          { path: 'dashboard', name: 'dashboard', component: () => import('./views/DashboardView.vue') },
          { path: 'pipeline', name: 'pipeline', component: () => import('./views/PipelineView.vue') },
          { path: 'deals/:id', name: 'deal', component: () => import('./views/DealView.vue'), props: true },
          { path: 'companies', name: 'companies', component: () => import('./views/CompaniesView.vue') },
          { path: 'companies/:id', name: 'company', component: () => import('./views/CompanyView.vue'), props: true },
          { path: 'contacts', name: 'contacts', component: () => import('./views/ContactsView.vue') },
          { path: 'contacts/:id', name: 'contact', component: () => import('./views/ContactView.vue'), props: true },
          { path: 'activities', name: 'activities', component: () => import('./views/ActivitiesView.vue') },
          { path: 'settings/tokens', name: 'tokens', component: () => import('./views/TokensView.vue') },
          { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
        ],
      },
    ],
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  });

  let restored: Promise<void> | null = null;
  router.beforeEach(async (to): Promise<RouteLocationRaw | true> => {
    const auth = useAuthStore(pinia);
    // fetch the screen's code while the session is restored, not after
    for (const record of to.matched) {
      const component = record.components?.default;
      if (typeof component === 'function') void (component as () => Promise<unknown>)();
    }
    restored ??= auth.restore();
    await restored;
    if (!to.meta.public && !auth.signedIn) {
      return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} };
    }
    if (to.meta.public && auth.signedIn) return { name: 'dashboard' };
    return true;
  });
  return router;
}
