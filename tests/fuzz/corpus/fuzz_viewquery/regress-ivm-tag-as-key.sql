-- catalog: t=$ivm$
SELECT t.status FROM public.t WHERE t.status IS NOT NULL