
import activities.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0020_archive_code_required'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalsop',
            name='heading',
            field=models.TextField(blank=True, help_text='Baris-baris di sel kop dokumen SOP, satu baris per baris; kosong: pemerintah, unit kerja dan bidang/seksi.', verbose_name='kop SOP'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_approved_by',
            field=models.CharField(blank=True, default='Disahkan Oleh', max_length=60, verbose_name='label disahkan oleh'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_effective_on',
            field=models.CharField(blank=True, default='Tanggal Efektif', max_length=60, verbose_name='label tanggal efektif/pengesahan'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_made_on',
            field=models.CharField(blank=True, default='Tanggal Pembuatan', max_length=60, verbose_name='label tanggal pembuatan'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_name',
            field=models.CharField(blank=True, default='Nama SOP', max_length=60, verbose_name='label nama SOP'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_number',
            field=models.CharField(blank=True, default='Nomor SOP', max_length=60, verbose_name='label nomor'),
        ),
        migrations.AddField(
            model_name='historicalsop',
            name='label_revised_on',
            field=models.CharField(blank=True, default='Tanggal Revisi', max_length=60, verbose_name='label tanggal revisi'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='email',
            field=models.EmailField(blank=True, max_length=200, verbose_name='e-mail'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='emblem',
            field=models.TextField(blank=True, help_text='Lambang di kop surat: PNG, JPEG atau SVG, paling besar 1 MB.', max_length=300, validators=[activities.models.validate_emblem], verbose_name='lambang'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='letterhead_name',
            field=models.TextField(blank=True, help_text='Seperti ditulis di kop surat, satu baris per baris; kosong: nama unit kerja.', verbose_name='nama unit di kop'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='letterhead_rule',
            field=models.CharField(choices=[('double', 'Garis ganda (tebal dan tipis)'), ('single', 'Satu garis'), ('none', 'Tanpa garis')], default='double', max_length=10, verbose_name='garis kop'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='phone',
            field=models.CharField(blank=True, max_length=100, verbose_name='telepon'),
        ),
        migrations.AddField(
            model_name='historicalunit',
            name='website',
            field=models.CharField(blank=True, max_length=200, verbose_name='laman'),
        ),
    ]
