import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { configFromPage, initParse, onSessionExpired } from './parse/client';
import { createAppRouter } from './router';
import { useAuthStore } from './stores/auth';
import { forgetData } from './stores';
import { locale, setLocale } from './i18n';
import { startOffline } from './offline';
import './styles/main.css';

initParse(configFromPage());
startOffline(); // pinned reads, the outbox and the app-shell service worker (src/offline)
setLocale(locale.value);

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
const router = createAppRouter(pinia);
app.use(router);

const auth = useAuthStore(pinia);
// An expired or revoked session: forget the data, go to log-in, and come back to the same page afterwards.
onSessionExpired(() => {
  if (auth.status !== 'signed-in') return;
  const wanted = router.currentRoute.value.fullPath;
  void auth.expire().then(() => {
    forgetData(pinia);
    void router.replace({ name: 'login', query: { redirect: wanted, expired: '1' } });
  });
});

app.mount('#app');
